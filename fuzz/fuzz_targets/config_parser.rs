//! Fuzzes the reader for nats-server's configuration syntax
//! (`edgeleaf::config::natsconf::parse_with`).
//!
//! The input is read as UTF-8 (lossily). Up to the first NUL it is the configuration
//! text; after it, each line `NAME=VALUE` defines an environment variable, so `$NAME`
//! references that are not keys reach the environment-value path (values parsed as
//! values, which may refer to further variables). Nothing touches the real environment
//! or the disk: the include reader always fails.
//!
//! Checked: never panics, never hangs (run with -timeout), and parsing is deterministic.
#![no_main]

use std::collections::HashMap;
use std::io;
use std::path::Path;

use edgeleaf::config::natsconf::parse_with;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, env_part) = input.split_once('\0').unwrap_or((&input, ""));
    let env: HashMap<&str, &str> = env_part.lines().filter_map(|l| l.split_once('=')).collect();

    let read = |p: &Path| -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("fuzzing: no include files ({})", p.display()),
        ))
    };
    let env_fn = |name: &str| env.get(name).map(|v| v.to_string());

    let first = parse_with(text, Some(Path::new("fuzz.conf")), &read, &env_fn);
    // Determinism: the same text parses to the same result (or the same error).
    let second = parse_with(text, Some(Path::new("fuzz.conf")), &read, &env_fn);
    assert_eq!(first, second);
});
