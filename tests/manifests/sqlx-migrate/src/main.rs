async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!().run(pool).await?;
    sqlx::migrate!("seeds").run(pool).await
}

fn main() {}
