//! The operator's commands against a running edgeleaf: `edgeleaf status` reads
//! `/uplinkz` from the monitoring port and prints each uplink for a person;
//! `edgeleaf uplink skip <stream> <seq>` asks the uplink, over NATS, to move a message
//! the cloud refused aside. Plain blocking sockets: these run once and exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::status::render;

/// `edgeleaf status [--monitor URL]`: prints every uplink of a running edgeleaf. Returns
/// the process exit code: 0 when every uplink is connected or forwarding, 1 when one is
/// not, 2 when edgeleaf cannot be asked.
pub fn status(args: &[String]) -> i32 {
    let mut base = "http://127.0.0.1:8222".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--monitor" | "-m" => match it.next() {
                Some(v) => base = v.clone(),
                None => {
                    eprintln!(
                        "edgeleaf status: --monitor needs a URL such as http://127.0.0.1:8222"
                    );
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!("Usage: edgeleaf status [--monitor http://127.0.0.1:8222]\n\nShows what each uplink is doing, read from the monitoring port's /uplinkz.");
                return 0;
            }
            other => {
                eprintln!("edgeleaf status: unknown argument {other:?} (expected --monitor URL)");
                return 2;
            }
        }
    }
    let body = match http_get(&base, "/uplinkz") {
        Ok(b) => b,
        Err(e) => {
            eprintln!("edgeleaf status: {e}");
            return 2;
        }
    };
    let v: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("edgeleaf status: {base}/uplinkz did not answer with JSON: {e}");
            return 2;
        }
    };
    let list = v["uplinks"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("no uplinks configured");
        return 0;
    }
    let mut all_ok = true;
    for u in &list {
        print!("{}", render(u));
        all_ok &= matches!(u["state"].as_str(), Some("connected" | "forwarding"));
    }
    if all_ok {
        0
    } else {
        1
    }
}

/// A plain HTTP/1.0 GET of `path` on `base` (`http://host:port`).
fn http_get(base: &str, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let hostport = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("--monitor {base:?}: expected http://host:port"))?
        .trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(hostport)
        .map_err(|e| format!("cannot reach edgeleaf's monitoring port at {base}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)
        .map_err(|e| format!("reading {base}{path}: {e}"))?;
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{base}{path}: not an HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!(
            "{base}{path} answered {:?} (is this edgeleaf with uplinks?)",
            head.lines().next().unwrap_or("")
        ));
    }
    Ok(body.to_string())
}

/// `edgeleaf uplink skip <stream> <seq> [--server nats://user:pass@127.0.0.1:4222]`.
/// Exit code 0 when the message was moved aside, 1 when the uplink refused, 2 when
/// edgeleaf could not be asked.
pub fn uplink(args: &[String]) -> i32 {
    const USAGE: &str = "Usage: edgeleaf uplink skip <stream> <seq> [--server nats://[user:pass@]127.0.0.1:4222]\n\nMoves the message the cloud refused (the uplink is blocked on it; see edgeleaf status)\ninto a local stream on edgeleaf.rejected.<stream>, and lets the uplink go on after it.";
    let mut server = "nats://127.0.0.1:4222".to_string();
    let mut pos: Vec<&String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--server" | "-s" => match it.next() {
                Some(v) => server = v.clone(),
                None => {
                    eprintln!(
                        "edgeleaf uplink: --server needs a URL such as nats://127.0.0.1:4222"
                    );
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            _ => pos.push(a),
        }
    }
    let (stream, seq) = match pos.as_slice() {
        [cmd, stream, seq] if cmd.as_str() == "skip" => match seq.parse::<u64>() {
            Ok(n) => (stream.to_string(), n),
            Err(_) => {
                eprintln!("edgeleaf uplink skip: expected a message seq, found {seq:?}\n\n{USAGE}");
                return 2;
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let subject = super::skip_subject(&stream);
    let body = serde_json::json!({ "seq": seq }).to_string();
    match request(&server, &subject, body.as_bytes(), Duration::from_secs(10)) {
        Ok(answer) => match serde_json::from_slice::<Value>(&answer) {
            Ok(v) if v.get("skipped").is_some() => {
                println!(
                    "seq {seq} of stream {stream} moved aside into stream {} as seq {}; the uplink goes on after it",
                    v["stream"].as_str().unwrap_or("?"),
                    v["seq"]
                );
                0
            }
            Ok(v) => {
                eprintln!(
                    "edgeleaf uplink skip: refused: {}",
                    v["error"].as_str().unwrap_or(&v.to_string())
                );
                1
            }
            Err(_) => {
                eprintln!(
                    "edgeleaf uplink skip: unexpected answer {:?}",
                    String::from_utf8_lossy(&answer)
                );
                2
            }
        },
        Err(e) => {
            eprintln!("edgeleaf uplink skip: {e}");
            2
        }
    }
}

/// One NATS request over a fresh plain-TCP connection.
fn request(url: &str, subject: &str, body: &[u8], wait: Duration) -> Result<Vec<u8>, String> {
    let rest = url
        .strip_prefix("nats://")
        .ok_or_else(|| format!("--server {url:?}: expected nats://[user:pass@]host:port"))?
        .trim_end_matches('/');
    let (auth, hostport) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let tcp = TcpStream::connect(hostport)
        .map_err(|e| format!("cannot reach edgeleaf at {hostport}: {e}"))?;
    let _ = tcp.set_read_timeout(Some(wait));
    let mut w = tcp.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(|e| format!("reading INFO: {e}"))?;
    if !line.starts_with("INFO ") {
        return Err(format!(
            "{hostport} is not a NATS server (it said {line:?})"
        ));
    }
    if line.contains("\"tls_required\":true") {
        return Err(format!(
            "{hostport} requires TLS; run this on the device against a plain listener"
        ));
    }
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "headers": true, "no_responders": true,
        "protocol": 1, "name": "edgeleaf uplink skip", "lang": "edgeleaf", "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(a) = auth {
        match a.split_once(':') {
            Some((u, p)) => {
                connect["user"] = Value::from(u);
                connect["pass"] = Value::from(p);
            }
            None => connect["auth_token"] = Value::from(a),
        }
    }
    let inbox = format!("_INBOX.{}", crate::jetstream::feed::random_token(22));
    write!(
        w,
        "CONNECT {connect}\r\nSUB {inbox} 1\r\nPUB {subject} {inbox} {}\r\n",
        body.len()
    )
    .and_then(|_| w.write_all(body))
    .and_then(|_| w.write_all(b"\r\nPING\r\n"))
    .map_err(|e| format!("sending the request: {e}"))?;
    loop {
        line.clear();
        let n = r
            .read_line(&mut line)
            .map_err(|e| format!("no answer within {wait:?}: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        let l = line.trim_end();
        if let Some(e) = l.strip_prefix("-ERR ") {
            return Err(format!("the server refused: {e}"));
        }
        if l == "PING" {
            let _ = w.write_all(b"PONG\r\n");
            continue;
        }
        let parts: Vec<&str> = l.split(' ').collect();
        let num = |i: usize| parts.get(i).and_then(|n| n.parse::<usize>().ok());
        let n = parts.len();
        let (hdr, total) = match parts.first().copied() {
            Some("MSG") if n >= 4 => (Some(0), num(n - 1)),
            Some("HMSG") if n >= 5 => (num(n - 2), num(n - 1)),
            Some("MSG" | "HMSG") => (None, None),
            _ => continue,
        };
        let (hdr, total) = match (hdr, total) {
            (Some(h), Some(t)) if h <= t => (h, t),
            _ => return Err(format!("unreadable message line {l:?}")),
        };
        let mut data = vec![0u8; total + 2];
        r.read_exact(&mut data).map_err(|e| e.to_string())?;
        if hdr > 0 && String::from_utf8_lossy(&data[..hdr]).starts_with("NATS/1.0 503") {
            return Err(format!(
                "no uplink of that stream on this edgeleaf (nobody answers on {subject})"
            ));
        }
        data.truncate(total);
        return Ok(data[hdr..].to_vec());
    }
}
