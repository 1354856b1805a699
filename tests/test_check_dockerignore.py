""".dockerignore checks: Docker's matching decides what is left out (SC201), and a Dockerfile needs one (SC200)."""

from __future__ import annotations

import pytest

from generator.check import check_files
from generator.check_dockerignore import check_dockerignore


@pytest.mark.parametrize(
    "ignore,missing",
    [
        ("target\n**/.git\n**/.env\n**/target\n", []),
        ("target\n.git\n**/.env\n**/target\n", ["vendor/dep/.git"]),
        ("", ["target", ".git", ".env"]),
        ("target/\n.git/\n.env\n", ["crates/app/.env", "crates/app/target/release"]),
        ("**\n!src\n!Cargo.toml\n", []),
        ("target\n**/target\n**/.git\n**/.env\n!.env\n", [".env"]),
    ],
)
def test_dockerignore_rules_follow_docker_matching(tmp_path, ignore, missing):
    (tmp_path / ".dockerignore").write_text(ignore)
    findings = check_dockerignore(tmp_path / ".dockerignore")
    if not missing:
        assert findings == []
    else:
        assert len(findings) == 1 and findings[0].rule == "SC201" and findings[0].severity == "error"
        for path in missing:
            assert path in findings[0].message


def test_a_dockerfile_may_have_its_own_ignore_file(tmp_path):
    """BuildKit reads `<Dockerfile name>.dockerignore` before `.dockerignore`; either one satisfies SC200."""
    (tmp_path / "Dockerfile.prod").write_text("FROM alpine:3.20\nUSER 1:1\nENTRYPOINT [\"/a\"]\n")
    assert "SC200" in {f.rule for f in check_files(tmp_path)}
    (tmp_path / "Dockerfile.prod.dockerignore").write_text("target\n")
    findings = check_files(tmp_path)
    assert "SC200" not in {f.rule for f in findings}
    assert [f.file for f in findings if f.rule == "SC201"] == [str(tmp_path / "Dockerfile.prod.dockerignore")]
