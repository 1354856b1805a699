"""``gcr.io/distroless/cc-debian12:nonroot``: a stand-in for Google's distroless ``cc`` image, not the real one."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.images.common import (
    DEBIAN_TAG,
    DISTROLESS_TAG,
    LABEL,
    LABEL_KIND,
    RECIPE_VERSION,
    Plan,
    Result,
    build,
    image_size,
    sha,
    up_to_date,
)
from tests.images.debian import debian_recipe

DISTROLESS_PACKAGES = (
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libssl3",
    "ca-certificates",
    "tzdata",
    "netbase",
)

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
GROUP = """\
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
"""


def distroless_dockerfile(recipe: str) -> str:
    pkgs = " ".join(DISTROLESS_PACKAGES)
    passwd = PASSWD.replace("\n", "\\n")
    group = GROUP.replace("\n", "\\n")
    return f"""\
FROM {DEBIAN_TAG} AS collect
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && mkdir -p /debs /out && cd /debs \\
 && apt-get download {pkgs} \\
 && for d in /debs/*.deb; do dpkg -x "$d" /out; done \\
 && rm -rf /out/usr/share/doc /out/usr/share/man /out/usr/share/lintian /out/usr/share/info \\
 && mkdir -p /out/etc/ssl/certs /out/home/nonroot /out/tmp /out/var/lib/dpkg/status.d \\
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \\
 && cp /etc/os-release /out/etc/os-release \\
 && cp -a /etc/ld.so.conf /etc/ld.so.conf.d /out/etc/ \\
 && printf 'passwd: files\\ngroup: files\\nhosts: files dns\\n' > /out/etc/nsswitch.conf \\
 && printf '{passwd}' > /out/etc/passwd \\
 && printf '{group}' > /out/etc/group \\
 && for d in /debs/*.deb; do dpkg-deb -f "$d" > "/out/var/lib/dpkg/status.d/$(dpkg-deb -f "$d" Package)"; done \\
 && ldconfig -r /out \\
 && chown 65532:65532 /out/home/nonroot && chmod 1777 /out/tmp \\
 && rm -rf /var/lib/apt/lists/*

FROM scratch
COPY --from=collect /out/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
LABEL {LABEL}={recipe} {LABEL_KIND}=distroless-cc-stand-in
"""


def make_distroless(plan: Plan) -> Result:
    recipe = sha(RECIPE_VERSION, "distroless", debian_recipe(plan), distroless_dockerfile(""))
    tags = [DISTROLESS_TAG]
    t0 = time.monotonic()
    if not plan.force and up_to_date(tags, recipe):
        return Result("distroless stand-in", tags, False, time.monotonic() - t0, image_size(DISTROLESS_TAG))
    with tempfile.TemporaryDirectory() as empty:
        build(Path(empty), distroless_dockerfile(recipe), tags, "distroless")
    return Result(
        "distroless stand-in", tags, True, time.monotonic() - t0, image_size(DISTROLESS_TAG),
        "STAND-IN for the real distroless image (no shell, uid 65532)",
    )
