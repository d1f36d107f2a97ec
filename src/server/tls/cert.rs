//! Owns what edgeleaf reads out of a client's certificate once rustls has verified it:
//! the subject as nats-server prints it (Go's `pkix.Name.String()` for `/connz`
//! `tls_peer_certs`, `ToRDNSequence().String()` for `verify_and_map`), the subject's
//! attributes in certificate order, the DNS, e-mail and URI alternative names, and the
//! SHA-256 fingerprints `/connz` shows. A small DER reader for just these fields: an
//! X.509 crate would cost binary size on the device for parsing we do not need.

use ring::digest;

/// What was wrong with a certificate, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed certificate: {0}")]
pub struct CertError(String);

/// One subject attribute, e.g. `CN=alice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute type as a dotted OID, e.g. `2.5.4.3`.
    pub oid: String,
    /// The value as text. Only string types are allowed in names (as Go's parser).
    pub value: String,
}

impl Attribute {
    /// The short name nats-server (Go) prints for this type, if it has one.
    pub fn short_name(&self) -> Option<&'static str> {
        Some(match self.oid.as_str() {
            "2.5.4.6" => "C",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "2.5.4.3" => "CN",
            "2.5.4.5" => "SERIALNUMBER",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.9" => "STREET",
            "2.5.4.17" => "POSTALCODE",
            _ => return None,
        })
    }
}

/// The identity a client certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert {
    /// Relative distinguished names in certificate order (most general first); each RDN
    /// is a set of one or more attributes.
    pub rdns: Vec<Vec<Attribute>>,
    /// Go's `Subject.String()`: what `/connz` shows as `tls_peer_certs[].subject`.
    pub subject: String,
    /// Go's `Subject.ToRDNSequence().String()`: the standard attributes only, as
    /// nats-server's `verify_and_map` matches a user name last.
    pub rdn_subject: String,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo (`spki_sha256`).
    pub spki_sha256: String,
    /// Hex SHA-256 of the whole DER certificate (`cert_sha256`).
    pub cert_sha256: String,
}

impl PeerCert {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<PeerCert, CertError> {
        let mut top = Der::new(der);
        let cert = top.expect(SEQUENCE, "Certificate")?;
        let mut cert = Der::new(cert.content);
        let tbs = cert.expect(SEQUENCE, "tbsCertificate")?;
        let mut tbs = Der::new(tbs.content);
        if tbs.peek_tag() == Some(0xa0) {
            tbs.any("version")?;
        }
        tbs.expect(INTEGER, "serialNumber")?;
        tbs.expect(SEQUENCE, "signature algorithm")?;
        tbs.expect(SEQUENCE, "issuer")?;
        tbs.expect(SEQUENCE, "validity")?;
        let subject = tbs.expect(SEQUENCE, "subject")?;
        let spki = tbs.expect(SEQUENCE, "subjectPublicKeyInfo")?;
        let mut sans = Sans::default();
        while !tbs.is_empty() {
            let field = tbs.any("tbsCertificate field")?;
            if field.tag == 0xa3 {
                read_extensions(field.content, &mut sans)?;
            }
        }
        let rdns = read_name(subject.content)?;
        Ok(PeerCert {
            subject: go_subject_string(&rdns),
            rdn_subject: rdn_string(&standard_rdns(&rdns)),
            rdns,
            dns_names: sans.dns,
            emails: sans.emails,
            uris: sans.uris,
            spki_sha256: sha256_hex(spki.whole),
            cert_sha256: sha256_hex(der),
        })
    }
}

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const BOOLEAN: u8 = 0x01;

/// One DER element: its tag, its content and all its bytes (header included).
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads DER elements one after another from a byte slice.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Der<'a> {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn any(&mut self, what: &str) -> Result<Tlv<'a>, CertError> {
        let err = |why: &str| CertError(format!("{what}: {why}"));
        let (&tag, after_tag) = self.rest.split_first().ok_or_else(|| err("missing"))?;
        if tag & 0x1f == 0x1f {
            return Err(err("multi-byte tags are not used in certificates"));
        }
        let (&first, mut after_len) = after_tag
            .split_first()
            .ok_or_else(|| err("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || after_len.len() < n {
                return Err(err("bad length"));
            }
            let (len_bytes, rest) = after_len.split_at(n);
            after_len = rest;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if after_len.len() < len {
            return Err(err(&format!(
                "length {len} runs past the end ({} bytes left)",
                after_len.len()
            )));
        }
        let header = self.rest.len() - after_len.len();
        let whole = &self.rest[..header + len];
        let content = &after_len[..len];
        self.rest = &after_len[len..];
        Ok(Tlv {
            tag,
            content,
            whole,
        })
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, CertError> {
        let tlv = self.any(what)?;
        if tlv.tag != tag {
            return Err(CertError(format!(
                "{what}: expected tag 0x{tag:02x}, found 0x{:02x}",
                tlv.tag
            )));
        }
        Ok(tlv)
    }
}

/// Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue).
fn read_name(content: &[u8]) -> Result<Vec<Vec<Attribute>>, CertError> {
    let mut rdns = Vec::new();
    let mut name = Der::new(content);
    while !name.is_empty() {
        let set = name.expect(SET, "subject RDN")?;
        let mut set = Der::new(set.content);
        let mut rdn = Vec::new();
        while !set.is_empty() {
            let atv = set.expect(SEQUENCE, "subject attribute")?;
            let mut atv = Der::new(atv.content);
            let oid = atv.expect(OID, "subject attribute type")?;
            let value = atv.any("subject attribute value")?;
            rdn.push(Attribute {
                oid: oid_string(oid.content)?,
                value: string_value(value.tag, value.content)?,
            });
        }
        rdns.push(rdn);
    }
    Ok(rdns)
}

/// The string types Go accepts in names; anything else makes it reject the certificate.
fn string_value(tag: u8, bytes: &[u8]) -> Result<String, CertError> {
    match tag {
        // PrintableString, IA5String, NumericString, UTF8String
        0x13 | 0x16 | 0x12 | 0x0c => std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| CertError("subject attribute value: invalid UTF-8".into())),
        // T61String: Go takes the bytes as they are; Latin-1 is the honest reading.
        0x14 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2 big endian.
        0x1e => {
            if bytes.len() % 2 != 0 {
                return Err(CertError("BMPString of odd length".into()));
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| CertError("invalid BMPString".into()))
        }
        other => Err(CertError(format!(
            "subject attribute value: unsupported string type 0x{other:02x}"
        ))),
    }
}

fn oid_string(bytes: &[u8]) -> Result<String, CertError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if acc > (u64::MAX >> 7) {
            return Err(CertError("object identifier arc too large".into()));
        }
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        } else if i + 1 == bytes.len() {
            return Err(CertError("truncated object identifier".into()));
        }
    }
    if arcs.is_empty() {
        return Err(CertError("empty object identifier".into()));
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

#[derive(Default)]
struct Sans {
    dns: Vec<String>,
    emails: Vec<String>,
    uris: Vec<String>,
}

/// [3] EXPLICIT Extensions: finds subjectAltName (2.5.29.17).
fn read_extensions(content: &[u8], sans: &mut Sans) -> Result<(), CertError> {
    let mut outer = Der::new(content);
    let list = outer.expect(SEQUENCE, "extensions")?;
    let mut list = Der::new(list.content);
    while !list.is_empty() {
        let ext = list.expect(SEQUENCE, "extension")?;
        let mut ext = Der::new(ext.content);
        let oid = ext.expect(OID, "extension id")?;
        if ext.peek_tag() == Some(BOOLEAN) {
            ext.any("extension critical flag")?;
        }
        let value = ext.expect(OCTET_STRING, "extension value")?;
        if oid.content == [0x55, 0x1d, 0x11] {
            let mut v = Der::new(value.content);
            let names = v.expect(SEQUENCE, "subjectAltName")?;
            let mut names = Der::new(names.content);
            while !names.is_empty() {
                let name = names.any("subjectAltName entry")?;
                let text = || String::from_utf8_lossy(name.content).into_owned();
                match name.tag {
                    0x81 => sans.emails.push(text()),
                    0x82 => sans.dns.push(text()),
                    0x86 => sans.uris.push(text()),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Go's `Name.String()`: attributes without a short name (kept as parsed, each its own
/// RDN) come first, then the standard ones grouped by type; printed last to first.
fn go_subject_string(rdns: &[Vec<Attribute>]) -> String {
    let mut seq: Vec<Vec<Attribute>> = rdns
        .iter()
        .flatten()
        .filter(|a| a.short_name().is_none())
        .map(|a| vec![a.clone()])
        .collect();
    seq.extend(standard_rdns(rdns));
    rdn_string(&seq)
}

/// Go's `Name.ToRDNSequence()` of a parsed name: one RDN per standard type, in Go's fixed
/// order, holding every value of that type (only the last CN and serial number).
fn standard_rdns(rdns: &[Vec<Attribute>]) -> Vec<Vec<Attribute>> {
    let all: Vec<&Attribute> = rdns.iter().flatten().collect();
    let mut out = Vec::new();
    for oid in [
        "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11",
    ] {
        let values: Vec<Attribute> = all
            .iter()
            .filter(|a| a.oid == oid)
            .map(|a| (*a).clone())
            .collect();
        if !values.is_empty() {
            out.push(values);
        }
    }
    for oid in ["2.5.4.3", "2.5.4.5"] {
        if let Some(last) = all.iter().rev().find(|a| a.oid == oid) {
            if !last.value.is_empty() {
                out.push(vec![(*last).clone()]);
            }
        }
    }
    out
}

/// Go's `RDNSequence.String()`: RDNs from last to first joined by `,`, attributes of one
/// RDN by `+`, RFC 2253 escaping; types without a short name as `OID=#<hex DER>`.
fn rdn_string(seq: &[Vec<Attribute>]) -> String {
    let mut s = String::new();
    for (i, rdn) in seq.iter().rev().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for (j, a) in rdn.iter().enumerate() {
            if j > 0 {
                s.push('+');
            }
            match a.short_name() {
                Some(name) => {
                    s.push_str(name);
                    s.push('=');
                    escape_value(&a.value, &mut s);
                }
                None => {
                    s.push_str(&a.oid);
                    s.push_str("=#");
                    s.push_str(&hex(&go_marshal_string(&a.value)));
                }
            }
        }
    }
    s
}

fn escape_value(v: &str, out: &mut String) {
    let last = v.len().saturating_sub(1);
    for (k, c) in v.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Go parses every name value into a plain string and re-encodes it with `asn1.Marshal`
/// to print it as hex, whatever its original type: a PrintableString when every
/// character allows it, else a UTF8String.
fn go_marshal_string(v: &str) -> Vec<u8> {
    let printable = v.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\''
                    | b'('
                    | b')'
                    | b'+'
                    | b','
                    | b'-'
                    | b'.'
                    | b'/'
                    | b':'
                    | b'='
                    | b'?'
                    | b'*'
            )
    });
    let tag = if printable { 0x13 } else { 0x0c };
    let mut out = vec![tag];
    let len = v.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(v.as_bytes());
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair, SanType};

    fn cert(params: CertificateParams) -> Vec<u8> {
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn subject_and_sans_as_nats_server_prints_them() {
        let mut p = CertificateParams::new(vec!["edge.example".into(), "127.0.0.1".into()])
            .expect("params");
        p.subject_alt_names.push(SanType::Rfc822Name(
            "ops@example.com".try_into().expect("email"),
        ));
        p.subject_alt_names
            .push(SanType::URI("nats://edge/u1".try_into().expect("uri")));
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CountryName, "DE");
        p.distinguished_name
            .push(DnType::OrganizationName, "Acme, Inc.");
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, "Edge");
        p.distinguished_name.push(DnType::CommonName, "alice");
        p.distinguished_name.push(
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            DnValue::Ia5String("example".try_into().expect("ia5")),
        );
        let der = cert(p);
        let c = PeerCert::from_der(&der).expect("parses");
        assert_eq!(c.rdn_subject, "CN=alice,OU=Edge,O=Acme\\, Inc.,C=DE");
        // The DC attribute has no short name: Go prints it last, as hex DER.
        assert_eq!(
            c.subject,
            "CN=alice,OU=Edge,O=Acme\\, Inc.,C=DE,0.9.2342.19200300.100.1.25=#13076578616d706c65"
        );
        assert_eq!(c.dns_names, vec!["edge.example".to_string()]);
        assert_eq!(c.emails, vec!["ops@example.com".to_string()]);
        assert_eq!(c.uris, vec!["nats://edge/u1".to_string()]);
        assert_eq!(c.cert_sha256.len(), 64);
        assert_eq!(c.spki_sha256.len(), 64);
        assert_eq!(c.rdns.len(), 5);
    }

    #[test]
    fn escaping_like_go() {
        let mut s = String::new();
        escape_value(" #a+b;\"c\" ", &mut s);
        assert_eq!(s, "\\ #a\\+b\\;\\\"c\\\"\\ ");
        let mut s = String::new();
        escape_value("#x#", &mut s);
        assert_eq!(s, "\\#x#");
    }

    #[test]
    fn oids() {
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).as_deref(), Ok("2.5.4.3"));
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).as_deref(),
            Ok("1.2.840.113549.1.9.1")
        );
        assert!(oid_string(&[0x86]).is_err());
        assert!(oid_string(&[]).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let key = KeyPair::generate().expect("key");
        let good = CertificateParams::new(vec!["x".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .der()
            .to_vec();
        for cut in 0..good.len() {
            let _ = PeerCert::from_der(&good[..cut]);
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = PeerCert::from_der(&bad);
        }
        assert!(PeerCert::from_der(&[]).is_err());
        assert!(PeerCert::from_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
