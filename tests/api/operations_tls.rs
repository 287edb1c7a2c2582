//! TLS to PostgreSQL against a real server started with `ssl = on` and a
//! certificate from a throwaway CA made here: `require` encrypts,
//! `verify-full` with the right CA connects (pool and migrations alike), and
//! a certificate from another CA is refused with a message that says so.

use std::path::{Path, PathBuf};

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pilcrow::db::embedded::{Cluster, TlsListener};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::helpers::spawn_app_on;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    Ca { pem, issuer: Issuer::new(params, key) }
}

fn server_certificate(ca: &Ca) -> (String, String) {
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("server params");
    let cert = params.signed_by(&key, &ca.issuer).expect("server certificate");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("writing a certificate");
    path
}

#[derive(diesel::QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
}

async fn encrypted(conn: &mut AsyncPgConnection) -> bool {
    let rows: Vec<Encrypted> = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .load(conn)
        .await
        .expect("pg_stat_ssl");
    rows[0].ssl
}

#[tokio::test]
async fn sslmodes_against_a_tls_server() {
    let ca = new_ca("Pilcrow test CA");
    let stranger = new_ca("Some other CA");
    let (cert_pem, key_pem) = server_certificate(&ca);
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start_ephemeral_tls(TlsListener { port, cert_pem, key_pem })
    })
    .await
    .unwrap()
    .expect("starting a TLS PostgreSQL");
    cluster.ensure_database("tls_app").await.expect("database");

    let dir = std::env::temp_dir().join(format!("pilcrow-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let right = write(&dir, "ca.pem", &ca.pem);
    let wrong = write(&dir, "other-ca.pem", &stranger.pem);
    let url = |db: &str, params: &str| format!("postgres://postgres@localhost:{port}/{db}?{params}");

    let mut conn = pilcrow::db::connect(&url("postgres", "sslmode=require")).await.expect("require");
    assert!(encrypted(&mut conn).await, "sslmode=require must encrypt");
    let mut conn = pilcrow::db::connect(&url("postgres", "sslmode=disable")).await.expect("disable");
    assert!(!encrypted(&mut conn).await, "sslmode=disable must not");

    let full = url("tls_app", &format!("sslmode=verify-full&sslrootcert={}", right.display()));
    let mut conn = pilcrow::db::connect(&full).await.expect("verify-full with the right CA");
    assert!(encrypted(&mut conn).await);

    let refused = pilcrow::db::connect(&url(
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", wrong.display()),
    ))
    .await
    .err()
    .expect("a certificate from another CA must be refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains("not signed by the CA in sslrootcert") && message.contains("other-ca.pem"),
        "unclear refusal: {message}"
    );
    // verify-ca checks the chain only: the right CA passes for an address the certificate does not name.
    let by_ip = format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={}",
        right.display()
    );
    pilcrow::db::connect(&by_ip).await.expect("verify-ca ignores the host name");
    let by_ip_full = by_ip.replace("verify-ca", "verify-full");
    let message =
        format!("{:#}", pilcrow::db::connect(&by_ip_full).await.err().expect("verify-full checks the name"));
    assert!(message.contains("does not name the host"), "{message}");

    // The whole application over verify-full: migrations, then the pool.
    pilcrow::db::migrate::run(&full).await.expect("migrating over TLS");
    let app = spawn_app_on(&full, |_| {}).await;
    app.get("!/ready", None).await.expect(200);
    app.register("ada").await;
    let _ = std::fs::remove_dir_all(&dir);
    drop(cluster);
}
