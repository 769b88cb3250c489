//! MOR's XML documents: declaration line, 2-space indentation, escaped text, trailing newline
//! (docs/contract.md §2).

/// An element with either text or children (MOR's documents never mix them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    name: String,
    text: Option<String>,
    children: Vec<Element>,
}

impl Element {
    pub fn new(name: impl Into<String>) -> Self {
        Element { name: name.into(), text: None, children: Vec::new() }
    }

    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Element { name: name.into(), text: Some(text.into()), children: Vec::new() }
    }

    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    pub fn children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children.extend(children);
        self
    }

    /// The whole document.
    pub fn document(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        out.push_str(&indent);
        match (&self.text, self.children.is_empty()) {
            (Some(t), _) if !t.is_empty() => {
                out.push_str(&format!("<{}>{}</{}>\n", self.name, escape(t), self.name));
            }
            (_, true) => out.push_str(&format!("<{}/>\n", self.name)),
            (_, false) => {
                out.push_str(&format!("<{}>\n", self.name));
                for c in &self.children {
                    c.write(out, depth + 1);
                }
                out.push_str(&format!("{indent}</{}>\n", self.name));
            }
        }
    }
}

/// An XML answer with its status.
pub fn response(status: axum::http::StatusCode, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/xml; charset=utf-8"));
    resp
}

/// Escapes text content as Ruby's Builder does (`&`, `<`, `>`). Characters XML 1.0 forbids
/// outright (control characters, U+FFFE, U+FFFF) become U+FFFD so the document stays well-formed.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if !crate::values::is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `<status><error>…</error></status>`: refusals before the method runs.
pub fn status_error(error: &str) -> String {
    Element::new("status").child(Element::text("error", error)).document()
}

/// `<page><error>…</error><message>…</message>…</page>`: refusals decided by the method.
pub fn page_error(error: &str, messages: &[String]) -> String {
    Element::new("page")
        .child(Element::text("error", error))
        .children(messages.iter().map(|m| Element::text("message", m.as_str())))
        .document()
}

/// `<page><status><error>…</error><message>…</message>…</status></page>`: refusals decided by
/// `user_register` and `users_get`, nested as MOR nests them.
pub fn page_status_error(error: &str, messages: &[String]) -> String {
    let status = Element::new("status")
        .child(Element::text("error", error))
        .children(messages.iter().map(|m| Element::text("message", m.as_str())));
    Element::new("page").child(status).document()
}

/// `<page><status>…</status></page>`: success.
pub fn page_status(status: &str) -> String {
    Element::new("page").child(Element::text("status", status)).document()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_document_is_byte_exact() {
        assert_eq!(
            page_status("User was updated"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User was updated</status>\n</page>\n"
        );
    }

    #[test]
    fn errors_and_messages() {
        assert_eq!(
            status_error("Incorrect hash"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<status>\n  <error>Incorrect hash</error>\n</status>\n"
        );
        assert_eq!(
            page_error("User was not updated", &["Email a&b@x.com <x> is already used".into()]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <error>User was not updated</error>\n  \
             <message>Email a&amp;b@x.com &lt;x&gt; is already used</message>\n</page>\n"
        );
    }

    #[test]
    fn forbidden_characters_are_replaced() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td"), "a\u{FFFD}b\u{FFFD}c\td");
    }

    #[test]
    fn empty_elements_self_close() {
        let doc = Element::new("page").child(Element::text("vat", "")).document();
        assert_eq!(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <vat/>\n</page>\n");
    }
}
