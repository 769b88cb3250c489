//! Knowledge kept as data: parameters, error strings, MOR's hash order and the time zone names.

pub mod errors;
pub mod params;
pub mod rights;

/// MOR's global hash order (mor-reference §5.4): 209 names shared by every API method.
pub fn hash_order() -> impl Iterator<Item = &'static str> {
    include_str!("hash_order.txt").lines().filter(|l| !l.is_empty())
}

/// The Rails time zone names MOR accepts (the "time zone name" column of MOR's Time Zone list).
pub fn time_zones() -> impl Iterator<Item = &'static str> {
    include_str!("../../data/time_zones.txt").lines().filter(|l| !l.is_empty())
}

/// Whether `name` is one of [`time_zones`].
pub fn is_time_zone(name: &str) -> bool {
    time_zones().any(|z| z == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_order_has_mors_209_names() {
        assert_eq!(hash_order().count(), 209);
        assert_eq!(hash_order().next(), Some("user_id"));
    }

    #[test]
    fn time_zones_include_the_usual_names() {
        for z in ["UTC", "Vilnius", "International Date Line West", "Eastern Time (US & Canada)"] {
            assert!(is_time_zone(z), "{z}");
        }
        assert!(!is_time_zone("Mars/Olympus"));
    }
}
