//! Request parameters from the query string and the body (form, multipart, JSON), with MOR's
//! precedence: the query string beats the body; within one source the last occurrence wins.

use crate::catalogue::errors::msg;
use crate::params::Params;
use percent_encoding::percent_decode;

/// Why the parameters could not be read. Each becomes `User was not updated` + a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError(pub String);

/// Decodes `application/x-www-form-urlencoded` (also the query string), refusing invalid UTF-8
/// instead of replacing it: a mangled value must not be stored or hashed.
pub fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    let mut out = Vec::new();
    for piece in input.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &[][..]),
        };
        out.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(out)
}

fn decode_component(raw: &[u8]) -> Result<String, BodyError> {
    let plus: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    let bytes: Vec<u8> = percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|_| BodyError(msg::NOT_UTF8.into()))
}

/// A JSON object body: scalars become strings as written, `null` is absent, `true`/`false`
/// are `1`/`0`; arrays and objects are refused, naming the parameter.
pub fn parse_json(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let text = std::str::from_utf8(body).map_err(|_| BodyError(msg::NOT_UTF8.into()))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| BodyError(msg::BAD_BODY.into()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(BodyError(msg::BAD_BODY.into()));
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let s = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(BodyError(msg::unsupported_json(&k)));
            }
        };
        out.push((k, s));
    }
    Ok(out)
}

/// `multipart/form-data`: text parts become parameters; file parts are ignored.
pub async fn parse_multipart(body: bytes::Bytes, boundary: String) -> Result<Vec<(String, String)>, BodyError> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(BodyError(msg::BAD_BODY.into())),
        };
        let name = field.name().map(str::to_string);
        let is_file = field.file_name().is_some();
        let data = field.bytes().await.map_err(|_| BodyError(msg::BAD_BODY.into()))?;
        let (Some(name), false) = (name, is_file) else { continue };
        let value = String::from_utf8(data.to_vec()).map_err(|_| BodyError(msg::NOT_UTF8.into()))?;
        out.push((name, value));
    }
    Ok(out)
}

/// All parameters of a request: body by its content type, then the query string over it.
pub async fn collect(query: Option<&str>, content_type: Option<&str>, body: bytes::Bytes) -> Result<Params, BodyError> {
    let query = parse_urlencoded(query.unwrap_or_default().as_bytes())?;
    let mime = content_type.unwrap_or_default().to_ascii_lowercase();
    let essence = mime.split(';').next().unwrap_or_default().trim().to_string();
    let body_pairs = match essence.as_str() {
        _ if body.is_empty() => Vec::new(),
        "application/json" => parse_json(&body)?,
        "multipart/form-data" => {
            let boundary = content_type
                .and_then(|ct| multer::parse_boundary(ct).ok())
                .ok_or_else(|| BodyError(msg::BAD_BODY.into()))?;
            parse_multipart(body, boundary).await?
        }
        // Form bodies, and bodies sent without a content type (as many scripts do).
        "application/x-www-form-urlencoded" | "" => parse_urlencoded(&body)?,
        _ => Vec::new(),
    };
    Ok(Params::from_pairs(body_pairs).overlay(Params::from_pairs(query)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_decodes_plus_and_percent() {
        let p = parse_urlencoded(b"a=1+2&b=%41%26&c&=x&&d=").unwrap();
        assert_eq!(
            p,
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "A&".into()),
                ("c".into(), "".into()),
                ("".into(), "x".into()),
                ("d".into(), "".into())
            ]
        );
    }

    #[test]
    fn urlencoded_refuses_invalid_utf8() {
        assert!(parse_urlencoded(b"a=%FF").is_err());
        assert!(parse_urlencoded(b"a=%C3%A9").is_ok());
    }

    #[test]
    fn json_scalars_as_written() {
        let p = parse_json(br#"{"u15":1,"credit":1.50,"u0":"x","a":true,"b":false,"n":null}"#).unwrap();
        let p = Params::from_pairs(p);
        assert_eq!(p.get("u15"), Some("1"));
        assert_eq!(p.get("credit"), Some("1.50"));
        assert_eq!(p.get("u0"), Some("x"));
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("0"));
        assert_eq!(p.get("n"), None);
    }

    #[test]
    fn json_nested_values_are_refused_by_name() {
        let e = parse_json(br#"{"u15":[1]}"#).unwrap_err();
        assert!(e.0.contains("u15"));
        assert!(parse_json(b"[1]").is_err());
        assert!(parse_json(b"{").is_err());
    }

    #[tokio::test]
    async fn query_beats_body() {
        let p = collect(Some("u15=1"), Some("application/x-www-form-urlencoded"), "u15=0&u0=x".into()).await.unwrap();
        assert_eq!(p.get("u15"), Some("1"));
        assert_eq!(p.get("u0"), Some("x"));
    }

    #[tokio::test]
    async fn multipart_text_parts() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"u15\"\r\n\r\n1\r\n--XX\r\nContent-Disposition: \
                    form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nignored\r\n--XX--\r\n";
        let p = collect(None, Some("multipart/form-data; boundary=XX"), body.into()).await.unwrap();
        assert_eq!(p.get("u15"), Some("1"));
        assert_eq!(p.get("f"), None);
    }
}
