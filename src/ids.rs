//! Typed ids, where two kinds of id meet and could be swapped: a
//! `GroupId` cannot be passed where a `UserId` is expected. They are UUIDs
//! in JSON, in paths and in the database.

macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident;)+) => {
        $(
            $(#[$doc])*
            #[derive(
                Debug, Clone, Copy, PartialEq, Eq, Hash,
                serde::Serialize, serde::Deserialize, utoipa::ToSchema,
                diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
            )]
            #[serde(transparent)]
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            pub struct $name(pub uuid::Uuid);

            impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
                ) -> diesel::serialize::Result {
                    <uuid::Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(
                        &self.0, out,
                    )
                }
            }

            impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
                fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                    <uuid::Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes)
                        .map(Self)
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }
        )+
    };
}

typed_ids! {
    GroupId;
    UserId;
    InviteId;
}
