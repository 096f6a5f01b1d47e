// figment::Jail closures return figment::Result, whose error is large by design.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::Jail;

use super::*;

fn load(jail: &Jail, file: Option<&str>) -> Result<Config, ConfigError> {
    let path = file.map(|f| jail.directory().join(f));
    Config::load(path.as_deref())
}

#[test]
fn defaults_need_no_file_or_env() {
    Jail::expect_with(|jail| {
        let c = load(jail, None).expect("defaults load");
        assert_eq!(c.kafka.brokers, "127.0.0.1:9092");
        assert_eq!(c.kafka.events_topic, "adpulse.events.v1");
        assert_eq!(c.cql.nodes, ["127.0.0.1:9042"]);
        assert_eq!(c.limits.limits(), Limits::default());
        Ok(())
    });
}

#[test]
fn file_then_env_override_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "adpulse.toml",
            r#"
            [kafka]
            brokers = "k1:9092"
            partitions = 48
            [cql]
            nodes = ["c1:9042", "c2:9042"]
            "#,
        )?;
        jail.set_env("ADPULSE__KAFKA__BROKERS", "k2:9092");
        jail.set_env("ADPULSE__LIMITS__MAX_EVENT_BYTES", "4096");
        jail.set_env("ADPULSE__TELEMETRY__LOG_FORMAT", "json");
        let c = load(jail, Some("adpulse.toml")).expect("loads");
        assert_eq!(c.kafka.brokers, "k2:9092", "env beats file");
        assert_eq!(c.kafka.partitions, 48, "file beats default");
        assert_eq!(c.cql.nodes, ["c1:9042", "c2:9042"]);
        assert_eq!(c.limits.max_event_bytes, 4096);
        assert_eq!(c.telemetry.log_format, LogFormat::Json);
        assert_eq!(c.kafka.client_id, "adpulse", "untouched keys keep defaults");
        Ok(())
    });
}

#[test]
fn unknown_key_in_file_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file("adpulse.toml", "[kafka]\nbrokerz = \"x\"\n")?;
        let err = load(jail, Some("adpulse.toml"))
            .expect_err("rejected")
            .to_string();
        assert!(err.contains("brokerz"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_section_and_env_key_are_named() {
    Jail::expect_with(|jail| {
        jail.set_env("ADPULSE__KAFKA__TOPIC", "x");
        let err = load(jail, None).expect_err("rejected").to_string();
        assert!(err.contains("topic"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("ADPULSE__KAFAK__BROKERS", "x");
        let err = load(jail, None).expect_err("rejected").to_string();
        assert!(err.contains("kafak"), "{err}");
        Ok(())
    });
}

#[test]
fn missing_file_is_an_error() {
    Jail::expect_with(|_| {
        let err = Config::load(Some(Path::new("/nonexistent/adpulse.toml"))).expect_err("rejected");
        assert!(err.to_string().contains("adpulse.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn wrong_type_names_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("ADPULSE__POSTGRES__MAX_CONNECTIONS", "many");
        let err = load(jail, None).expect_err("rejected").to_string();
        assert!(
            err.to_lowercase().contains("postgres.max_connections"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_in_debug() {
    Jail::expect_with(|jail| {
        jail.set_env("ADPULSE__POSTGRES__URL", "postgres://u:hunter2@db/x");
        jail.set_env("ADPULSE__REDIS__URL", "redis://:hunter3@cache");
        let c = load(jail, None).expect("loads");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3"),
            "{debug}"
        );
        assert!(debug.contains("[redacted]"));
        assert_eq!(c.postgres.url.expose(), "postgres://u:hunter2@db/x");
        Ok(())
    });
}

#[test]
fn http_section_defaults_file_and_env() {
    Jail::expect_with(|jail| {
        let c = load(jail, None).expect("defaults load");
        assert_eq!(c.http, HttpConfig::default());
        assert_eq!(c.http.header_timeout_ms, 10_000);
        assert_eq!(c.http.max_connections, 1_024);
        jail.create_file(
            "adpulse.toml",
            "[http]\nheader_timeout_ms = 2000\nmax_connections = 64\n",
        )?;
        jail.set_env("ADPULSE__HTTP__IDLE_TIMEOUT_MS", "5000");
        let c = load(jail, Some("adpulse.toml")).expect("loads");
        assert_eq!(c.http.header_timeout_ms, 2_000);
        assert_eq!(c.http.max_connections, 64);
        assert_eq!(c.http.idle_timeout_ms, 5_000, "env beats default");
        assert_eq!(c.http.body_min_bytes_per_sec, 8 * 1024, "untouched");
        jail.set_env("ADPULSE__HTTP__HEADER_TIMEOUT", "1");
        let err = load(jail, None).expect_err("rejected").to_string();
        assert!(err.contains("header_timeout"), "{err}");
        Ok(())
    });
}

#[test]
fn the_smtp_relay_loads_from_the_environment_and_is_checked() {
    Jail::expect_with(|jail| {
        jail.set_env(
            "ADPULSE__ALERTS__SMTP_URL",
            "smtp://mail.example.com?tls=starttls",
        );
        jail.set_env("ADPULSE__ALERTS__SMTP_USERNAME", "alerts");
        jail.set_env("ADPULSE__ALERTS__SMTP_PASSWORD", "hunter4");
        jail.set_env("ADPULSE__ALERTS__MAIL_FROM", "Ops <ops@example.com>");
        let c = load(jail, None).expect("loads");
        assert_eq!(
            c.alerts.smtp_relay(),
            Ok(Some(SmtpRelay {
                host: "mail.example.com".into(),
                port: 587,
                tls: SmtpTls::StartTls,
            }))
        );
        assert!(c.check(Role::Alerter).is_ok());
        assert!(
            !format!("{c:?}").contains("hunter4"),
            "the password is redacted"
        );
        Ok(())
    });
    let mut c = Config::default();
    c.alerts.smtp_url = Some("smtp://mail.example.com".into());
    c.alerts.smtp_password = Some(Secret::new("hunter4".into()));
    c.alerts.mail_from = "adpulse".into();
    let problems = c.check(Role::Alerter).expect_err("refused");
    let keys: Vec<&str> = problems.0.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "alerts.mail_from",
            "alerts.smtp_url",
            "alerts.smtp_username"
        ],
        "{problems}"
    );
    assert!(problems.to_string().contains("unencrypted"), "{problems}");
    c.alerts.smtp_url = Some("smtps://u:p@mail.example.com".into());
    c.alerts.smtp_username = Some("u".into());
    c.alerts.mail_from = AlertsConfig::default().mail_from;
    let problems = c.check(Role::Alerter).expect_err("refused");
    assert_eq!(problems.0.len(), 1, "{problems}");
    assert!(
        problems.to_string().contains("ADPULSE__ALERTS__SMTP_URL"),
        "{problems}"
    );
}
