//! Owns the command line: nats-server's flag spellings (Go `flag` package rules: one or
//! two dashes, `-flag value` or `-flag=value`, booleans only as `-flag` or `-flag=bool`,
//! multi-letter single-dash flags such as `-sd` and `-DV`). Hand-written because no
//! flag crate accepts those spellings. Flags for features this build does not have are
//! rejected by name rather than ignored.

use super::ConfigError;

/// What the flags asked for, before any file is read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Flags {
    pub version: bool,
    pub help: bool,
    /// `--help_tls`.
    pub help_tls: bool,
    /// `-c/--config`.
    pub config_file: Option<String>,
    /// Settings in command-line order, as (canonical key, value, flag as typed).
    pub settings: Vec<(&'static str, FlagValue, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FlagValue {
    Bool(bool),
    /// Text as given; the loader converts and range-checks it like any other source.
    Text(String),
}

/// What a flag name means.
enum Spec {
    /// Takes a value, stored under this config key.
    Value(&'static str),
    /// Boolean, stored under this config key.
    Bool(&'static str),
    Config,
    Version,
    Help,
    HelpTls,
    /// `-DV`: debug and trace.
    DebugTrace,
    /// A nats-server flag for a feature edgeleaf does not have yet.
    Unsupported(&'static str),
}

fn spec(name: &str) -> Option<Spec> {
    use Spec::*;
    Some(match name {
        "c" | "config" => Config,
        "a" | "addr" | "net" => Value("host"),
        "p" | "port" => Value("port"),
        "m" | "http_port" => Value("http_port"),
        "ms" | "https_port" => Value("https_port"),
        // The TLS flags are kept apart from the `tls` block: like nats-server, any of them
        // replaces the file's certificate, key, CA and verify settings as a whole (see
        // `load::apply_tls_flags`), and `--tls=false` turns TLS off.
        "tls" => Bool(TLS_FLAG_ENABLE),
        "tlsverify" => Bool(TLS_FLAG_VERIFY),
        "tlscert" => Value(TLS_FLAG_CERT),
        "tlskey" => Value(TLS_FLAG_KEY),
        "tlscacert" => Value(TLS_FLAG_CA),
        "n" | "name" | "server_name" => Value("server_name"),
        "sd" | "store_dir" => Value("store_dir"),
        "l" | "log" => Value("log_file"),
        "P" | "pid" => Value("pid_file"),
        "D" | "debug" => Bool("debug"),
        "V" | "trace" => Bool("trace"),
        "T" | "logtime" => Bool("log_time"),
        "DV" => DebugTrace,
        "v" | "version" => Version,
        "h" | "help" => Help,
        "user" => Value("auth_user"),
        "pass" => Value("auth_pass"),
        "auth" => Value("auth_token"),
        "help_tls" => HelpTls,
        "js" | "jetstream" => Bool(JETSTREAM_ENABLED),
        "cluster" | "routes" | "cluster_name" | "cluster_listen" | "cluster_advertise"
        | "no_advertise" | "connect_retries" => Unsupported("clustering"),
        "t" => Unsupported("checking the configuration (-t)"),
        "sl" | "signal" => Unsupported("signalling a running server (-sl)"),
        "s" | "syslog" | "r" | "remote_syslog" => Unsupported("syslog"),
        "VV" | "DVV" => Unsupported("verbose system-account tracing"),
        "log_size_limit" => Unsupported("log file rotation"),
        "max_traced_msg_len" => Unsupported("limiting traced message length"),
        "client_advertise" => Unsupported("client advertise URLs"),
        "ports_file_dir" => Unsupported("the ports file"),
        "profile" => Unsupported("the profiling port"),
        _ => return None,
    })
}

/// Canonical key of JetStream's on/off switch: `-js`, and what `normalize` makes of
/// `jetstream: enabled` or a `jetstream { }` block. A flag wins over the file, as any flag.
pub(crate) const JETSTREAM_ENABLED: &str = "jetstream_enabled";

/// Canonical keys of the `--tls*` flags. Only flags produce them (a file or the
/// environment using these names gets the usual unknown-key treatment).
pub(crate) const TLS_FLAG_ENABLE: &str = "tls_flag_enable";
pub(crate) const TLS_FLAG_VERIFY: &str = "tls_flag_verify";
pub(crate) const TLS_FLAG_CERT: &str = "tls_flag_cert";
pub(crate) const TLS_FLAG_KEY: &str = "tls_flag_key";
pub(crate) const TLS_FLAG_CA: &str = "tls_flag_ca";

/// Go's `strconv.ParseBool` spellings, which the flag package uses for `-flag=value`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: &[String]) -> Result<Flags, ConfigError> {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            if let Some(extra) = args.get(i) {
                return Err(ConfigError::UnexpectedArgument { arg: extra.clone() });
            }
            break;
        }
        let body = match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(body) if !body.is_empty() && !body.starts_with('-') => body,
            _ => return Err(ConfigError::UnexpectedArgument { arg: arg.clone() }),
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let shown = match arg.find('=') {
            Some(eq) => arg[..eq].to_string(),
            None => arg.clone(),
        };
        let spec = spec(name).ok_or_else(|| ConfigError::UnknownFlag {
            flag: shown.clone(),
        })?;
        let take_value = |i: &mut usize| -> Result<String, ConfigError> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            // As in Go's flag package the next word is the value even if it starts
            // with '-', which is what makes `-p -1` work.
            match args.get(*i) {
                Some(v) => {
                    *i += 1;
                    Ok(v.clone())
                }
                None => Err(ConfigError::Flag {
                    flag: shown.clone(),
                    message: "needs a value".into(),
                }),
            }
        };
        let bool_value = || -> Result<bool, ConfigError> {
            match &inline {
                None => Ok(true),
                Some(v) => parse_bool(v).ok_or_else(|| ConfigError::Flag {
                    flag: shown.clone(),
                    message: format!("expected true or false, found {v:?}"),
                }),
            }
        };
        match spec {
            Spec::Config => flags.config_file = Some(take_value(&mut i)?),
            Spec::Value(key) => {
                let v = take_value(&mut i)?;
                flags.settings.push((key, FlagValue::Text(v), shown));
            }
            Spec::Bool(key) => {
                let b = bool_value()?;
                flags.settings.push((key, FlagValue::Bool(b), shown));
            }
            Spec::DebugTrace => {
                let b = bool_value()?;
                flags
                    .settings
                    .push(("debug", FlagValue::Bool(b), shown.clone()));
                flags.settings.push(("trace", FlagValue::Bool(b), shown));
            }
            Spec::Version => flags.version = bool_value()?,
            Spec::Help => flags.help = bool_value()?,
            Spec::HelpTls => flags.help_tls = bool_value()?,
            Spec::Unsupported(feature) => {
                return Err(ConfigError::UnsupportedFlag {
                    flag: shown,
                    feature: feature.into(),
                })
            }
        }
    }
    Ok(flags)
}

/// The `--help_tls` text: the TLS flags and config block, as nats-server's TLS help.
pub(crate) fn help_tls_text() -> String {
    "\
TLS server options (client connections; the monitoring port too with --https_port):

    --tls                            Enable TLS, do not verify clients
    --tlscert <file>                 Server certificate file (PEM)
    --tlskey <file>                  Private key for server certificate (PEM)
    --tlsverify                      Enable TLS, verify client certificates
    --tlscacert <file>               Client certificate CA for verification (PEM)

Any of these flags replaces the certificate, key, CA and verify settings of the
config file's tls block; --tls=false turns TLS off.

The same in a config file:

    tls {
      cert_file: \"./certs/server.pem\"
      key_file:  \"./certs/server-key.pem\"
      ca_file:   \"./certs/ca.pem\"    # client certificates must chain to it
      verify:    true                # require a client certificate
      # verify_and_map: true         # ... and map its subject or SANs to a user
      timeout:   2                   # TLS handshake timeout in seconds
    }

TLS 1.2 and 1.3 only. The server sends INFO (with tls_required) in plaintext, then the
client starts the TLS handshake, as nats-server 2.9 does.
"
    .to_string()
}

/// The `--help` text.
pub(crate) fn help_text() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "\
edgeleaf {version}: NATS-compatible edge broker (flags follow nats-server's spellings)

Usage: edgeleaf [options]

Server options:
    -a, --addr, --net <host>         Host to listen on for clients (default: 0.0.0.0)
    -p, --port <port>                Client port (default: 4222; -1 picks a free port)
    -n, --name, --server_name <name> Server name (default: the server id)
    -m, --http_port <port>           Monitoring HTTP port (default: 8222; 0 turns it off,
                                     -1 picks a free port)
    -ms, --https_port <port>         Monitoring HTTPS port, with the TLS certificate of
                                     the client port (turns plain HTTP monitoring off)
    -c, --config <file>              Configuration file: nats-server syntax, or TOML
                                     when the name ends in .toml
    -P, --pid <file>                 Write the process id to this file
    -sd, --store_dir <dir>           Data directory (default: ./data)

JetStream options:
    -js, --jetstream                 Enable JetStream (default: off; a config file's
                                     jetstream block or `jetstream: enabled` too)

Logging options:
    -l, --log <file>                 Log to this file instead of standard error
    -T, --logtime[=false]            Timestamp log lines (default: true)
    -D, --debug                      Debug logging
    -V, --trace                      Trace the protocol
    -DV                              Debug and trace

TLS options:
    --tls                            Enable TLS, do not verify clients (default: false)
    --tlscert <file>                 Server certificate file
    --tlskey <file>                  Private key for server certificate
    --tlsverify                      Enable TLS, verify client certificates
    --tlscacert <file>               Client certificate CA for verification

Common options:
    -h, --help                       Show this text
    --help_tls                       TLS help
    -v, --version                    Show the version

Flags taking a value accept `-flag value`, `-flag=value`, `--flag value` and
`--flag=value`. Every setting can also come from the environment as
EDGELEAF_<KEY> (e.g. EDGELEAF_PORT=4333, EDGELEAF_SERVER_NAME=edge1).
Precedence: defaults < config file < environment < flags.

nats-server flags for features this build does not have yet (clustering, -t, -sl,
syslog) are rejected with an error rather than ignored.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn ok(list: &[&str]) -> Flags {
        match parse(&args(list)) {
            Ok(f) => f,
            Err(e) => panic!("{list:?}: {e}"),
        }
    }

    fn one(list: &[&str]) -> (&'static str, FlagValue) {
        let f = ok(list);
        assert_eq!(f.settings.len(), 1, "{list:?}");
        let (k, v, _) = f.settings[0].clone();
        (k, v)
    }

    fn text(s: &str) -> FlagValue {
        FlagValue::Text(s.into())
    }

    #[test]
    fn every_value_flag_spelling() {
        let cases: &[(&[&str], &str)] = &[
            (&["-a"], "host"),
            (&["--addr"], "host"),
            (&["--net"], "host"),
            (&["-addr"], "host"),
            (&["-net"], "host"),
            (&["-p"], "port"),
            (&["--port"], "port"),
            (&["-port"], "port"),
            (&["-m"], "http_port"),
            (&["-ms"], "https_port"),
            (&["--https_port"], "https_port"),
            (&["--tlscert"], TLS_FLAG_CERT),
            (&["-tlskey"], TLS_FLAG_KEY),
            (&["--tlscacert"], TLS_FLAG_CA),
            (&["--http_port"], "http_port"),
            (&["-n"], "server_name"),
            (&["--name"], "server_name"),
            (&["--server_name"], "server_name"),
            (&["-sd"], "store_dir"),
            (&["--store_dir"], "store_dir"),
            (&["-l"], "log_file"),
            (&["--log"], "log_file"),
            (&["-P"], "pid_file"),
            (&["--pid"], "pid_file"),
        ];
        for (flag, key) in cases {
            let name = flag[0];
            assert_eq!(one(&[name, "X"]), (*key, text("X")), "{name} X");
            let joined = format!("{name}=X");
            assert_eq!(one(&[&joined]), (*key, text("X")), "{joined}");
            let empty = format!("{name}=");
            assert_eq!(one(&[&empty]), (*key, text("")), "{empty}");
        }
    }

    #[test]
    fn config_flag() {
        for list in [
            &["-c", "a.conf"][..],
            &["--config", "a.conf"],
            &["-config=a.conf"],
            &["--config=a.conf"],
        ] {
            assert_eq!(ok(list).config_file.as_deref(), Some("a.conf"), "{list:?}");
        }
        // The last one wins, as with Go flags.
        assert_eq!(
            ok(&["-c", "a", "-c", "b"]).config_file.as_deref(),
            Some("b")
        );
    }

    #[test]
    fn negative_port_value() {
        assert_eq!(one(&["-p", "-1"]), ("port", text("-1")));
        assert_eq!(one(&["-m", "-1"]), ("http_port", text("-1")));
        assert_eq!(
            one(&["-sd=/var/lib/edge"]),
            ("store_dir", text("/var/lib/edge"))
        );
        // `=` inside the value is kept.
        assert_eq!(one(&["--name=a=b"]), ("server_name", text("a=b")));
    }

    #[test]
    fn bool_flags() {
        for f in ["-D", "--debug", "-debug"] {
            assert_eq!(one(&[f]), ("debug", FlagValue::Bool(true)), "{f}");
        }
        for f in ["-V", "--trace", "-trace"] {
            assert_eq!(one(&[f]), ("trace", FlagValue::Bool(true)), "{f}");
        }
        assert_eq!(one(&["--tls"]), (TLS_FLAG_ENABLE, FlagValue::Bool(true)));
        assert_eq!(
            one(&["-tls=false"]),
            (TLS_FLAG_ENABLE, FlagValue::Bool(false))
        );
        assert_eq!(
            one(&["--tlsverify"]),
            (TLS_FLAG_VERIFY, FlagValue::Bool(true))
        );
        for f in ["-T", "--logtime"] {
            assert_eq!(one(&[f]), ("log_time", FlagValue::Bool(true)), "{f}");
        }
        assert_eq!(one(&["-T=false"]), ("log_time", FlagValue::Bool(false)));
        assert_eq!(one(&["--debug=0"]), ("debug", FlagValue::Bool(false)));
        let f = ok(&["-DV"]);
        assert_eq!(
            f.settings
                .iter()
                .map(|(k, v, _)| (*k, v.clone()))
                .collect::<Vec<_>>(),
            vec![
                ("debug", FlagValue::Bool(true)),
                ("trace", FlagValue::Bool(true))
            ]
        );
        // A bool flag does not eat the next word.
        let f = ok(&["-D", "-p", "5"]);
        assert_eq!(f.settings.len(), 2);
        assert!(matches!(
            parse(&args(&["--debug=maybe"])),
            Err(ConfigError::Flag { .. })
        ));
    }

    #[test]
    fn version_and_help() {
        for f in ["-v", "--version", "-version"] {
            assert!(ok(&[f]).version, "{f}");
        }
        for f in ["-h", "--help", "-help"] {
            assert!(ok(&[f]).help, "{f}");
        }
        assert!(ok(&["--help_tls"]).help_tls);
        let t = help_tls_text();
        for f in [
            "--tlscert",
            "--tlskey",
            "--tlscacert",
            "--tlsverify",
            "cert_file",
            "verify_and_map",
        ] {
            assert!(t.contains(f), "TLS help lacks {f}");
        }
        let h = help_text();
        for f in [
            "--addr",
            "--port",
            "--http_port",
            "--server_name",
            "--config",
            "--pid",
            "--store_dir",
            "--log",
            "--logtime",
            "--debug",
            "--trace",
            "-DV",
            "--help",
            "--version",
            "-sd",
            "--https_port",
            "--tls",
            "--tlsverify",
            "--help_tls",
            "-js",
            "--jetstream",
        ] {
            assert!(h.contains(f), "help lacks {f}");
        }
    }

    #[test]
    fn unsupported_flags_are_rejected_by_name() {
        let cases: &[(&[&str], &str)] = &[
            (&["--cluster", "nats://x"], "clustering"),
            (&["--routes", "nats://x"], "clustering"),
            (&["--cluster_name", "c"], "clustering"),
        ];
        for (list, feature) in cases {
            match parse(&args(list)) {
                Err(e @ ConfigError::UnsupportedFlag { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(list[0]), "{msg}");
                    assert!(msg.contains(feature), "{msg}");
                    assert!(msg.contains("not supported yet"), "{msg}");
                }
                other => panic!("{list:?}: {other:?}"),
            }
        }
        let msg = parse(&args(&["-t"])).map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            msg,
            "flag -t: checking the configuration (-t) is not supported yet by this edgeleaf build"
        );
    }

    #[test]
    fn jetstream_flag() {
        for f in ["-js", "--js", "-jetstream", "--jetstream"] {
            assert_eq!(one(&[f]), (JETSTREAM_ENABLED, FlagValue::Bool(true)), "{f}");
        }
        assert_eq!(
            one(&["-js=false"]),
            (JETSTREAM_ENABLED, FlagValue::Bool(false))
        );
        // A bool flag: it does not take the next word as its value.
        let f = ok(&["-js", "--store_dir", "x"]);
        assert_eq!(
            f.settings
                .iter()
                .map(|(k, v, _)| (*k, v.clone()))
                .collect::<Vec<_>>(),
            vec![
                (JETSTREAM_ENABLED, FlagValue::Bool(true)),
                ("store_dir", text("x"))
            ]
        );
        assert!(matches!(
            parse(&args(&["--jetstream=maybe"])),
            Err(ConfigError::Flag { .. })
        ));
    }

    #[test]
    fn unknown_and_malformed() {
        match parse(&args(&["--bogus"])) {
            Err(e @ ConfigError::UnknownFlag { .. }) => assert!(e.to_string().contains("--bogus")),
            other => panic!("{other:?}"),
        }
        match parse(&args(&["-x=1"])) {
            Err(ConfigError::UnknownFlag { flag }) => assert_eq!(flag, "-x"),
            other => panic!("{other:?}"),
        }
        match parse(&args(&["-p"])) {
            Err(e @ ConfigError::Flag { .. }) => {
                assert_eq!(e.to_string(), "flag -p: needs a value")
            }
            other => panic!("{other:?}"),
        }
        for bad in [&["stray"][..], &["-"], &["---p", "1"], &["--", "x"]] {
            assert!(
                matches!(
                    parse(&args(bad)),
                    Err(ConfigError::UnexpectedArgument { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(ok(&["--"]), Flags::default());
        assert_eq!(ok(&[]), Flags::default());
    }
}
