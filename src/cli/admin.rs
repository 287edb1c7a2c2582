//! `pilcrow admin grant-admin|revoke-admin <username>`. The flag is read on
//! every request by the access policy, so the change applies at once.

use anyhow::bail;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::users;

pub async fn set(conn: &mut AsyncPgConnection, username: &str, admin: bool) -> anyhow::Result<()> {
    let changed = diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::is_admin.eq(admin))
        .execute(conn)
        .await?;
    if changed == 0 {
        bail!("no user is called {username:?}");
    }
    let verb = if admin { "is now" } else { "is no longer" };
    println!("{username} {verb} a site administrator");
    Ok(())
}
