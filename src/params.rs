//! The request's parameters after MOR's precedence rules: one value per name.

use std::collections::HashMap;

/// Name → raw value, as the request carried it (URL/form decoded, never trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from one source in order; a later occurrence of a name wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut p = Self::new();
        for (k, v) in pairs {
            p.0.insert(k.into(), v.into());
        }
        p
    }

    /// Merges a higher-precedence source (the query string) over this one (the body).
    pub fn overlay(mut self, higher: Params) -> Self {
        self.0.extend(higher.0);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_occurrence_wins_within_a_source() {
        let p = Params::from_pairs([("u15", "0"), ("u15", "1")]);
        assert_eq!(p.get("u15"), Some("1"));
    }

    #[test]
    fn query_beats_body() {
        let body = Params::from_pairs([("u15", "0"), ("u0", "x")]);
        let query = Params::from_pairs([("u15", "1")]);
        let p = body.overlay(query);
        assert_eq!(p.get("u15"), Some("1"));
        assert_eq!(p.get("u0"), Some("x"));
    }
}
