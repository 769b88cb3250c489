//! `morapi hash`: the signature an integrator needs, and the exact string behind it.

use super::run::Usage;
use crate::auth::hash::{Variant, hash_string, sign};
use crate::params::Params;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  morapi hash --key 456789 user_id=123 u15=1\n\n\
The order of the pairs does not matter: MOR's fixed order decides. `u`, `hash` and other\n\
unhashed names are ignored, so you can paste a request's whole parameter list.")]
pub struct Opts {
    /// The API secret key (or set MORAPI_KEY to keep it out of shell history).
    #[arg(long, env = "MORAPI_KEY", hide_env_values = true)]
    pub key: String,
    /// Request parameters as name=value (raw values, as sent).
    #[arg(value_name = "NAME=VALUE")]
    pub pairs: Vec<String>,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    print!("{}", text(&opts).map_err(Usage)?);
    Ok(())
}

/// The text `morapi hash` prints: per variant, the string that was hashed (key masked) and the hash.
pub fn text(opts: &Opts) -> Result<String, String> {
    let mut pairs = Vec::new();
    for pair in &opts.pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {pair:?}"))?;
        pairs.push((k.to_string(), v.to_string()));
    }
    let params = Params::from_pairs(pairs);
    let masked = "*".repeat(opts.key.chars().count());
    let documented = hash_string(&params, Variant::Documented);
    let actual = hash_string(&params, Variant::MorActual);
    let mut out = String::new();
    if documented == actual {
        out.push_str(&format!("hashed string: {documented}{masked}\n"));
        out.push_str(&format!("hash: {}\n", sign(&params, &opts.key, Variant::Documented)));
    } else {
        out.push_str("user_warning_email_hour and pgui are hashed by the documentation but not by MOR itself;\n");
        out.push_str("morapi accepts either hash.\n");
        out.push_str(&format!("documented hashed string: {documented}{masked}\n"));
        out.push_str(&format!("documented hash: {}\n", sign(&params, &opts.key, Variant::Documented)));
        out.push_str(&format!("MOR hashed string: {actual}{masked}\n"));
        out.push_str(&format!("MOR hash: {}\n", sign(&params, &opts.key, Variant::MorActual)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_prints_string_with_masked_key() {
        let out =
            text(&Opts { key: "456789".into(), pairs: vec!["u15=1".into(), "user_id=123".into(), "u=admin".into()] })
                .unwrap();
        assert_eq!(out, "hashed string: 1231******\nhash: 0ab3ede4e93a55c38855a2cc9b9e169d35442c48\n");
    }

    #[test]
    fn hash_shows_both_variants_when_they_differ() {
        let out = text(&Opts { key: "456789".into(), pairs: vec!["user_id=123".into(), "pgui=1".into()] }).unwrap();
        assert!(out.contains("documented hashed string: 1231******"));
        assert!(out.contains("MOR hashed string: 123******"));
    }

    #[test]
    fn hash_rejects_pairs_without_equals() {
        assert!(text(&Opts { key: "k".into(), pairs: vec!["oops".into()] }).is_err());
    }
}
