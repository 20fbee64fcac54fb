//! Who sends a message in the simulator: a [`Party`], named as the trace shows it.
//!
//! A party is a client or an attacker by its name (`victim`, `honest0`, `attacker1`),
//! the user agent acting for one (`browser:victim`), or a host making a fetch of its own
//! (`https://mcp.example`). The name is parsed once, here; nothing else reads prefixes.

use std::fmt;

/// The prefix of a user agent's name: `browser:<the party it acts for>`.
const BROWSER: &str = "browser:";

/// The prefix of an attacker's name (`attacker`, `attacker0`, …).
const ATTACKER: &str = "attacker";

/// A sender of messages, by the name the trace shows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Party {
    name: String,
}

impl Party {
    /// The party named `name` (`victim`, `browser:victim`, `https://as.example`).
    pub fn named(name: &str) -> Party {
        Party { name: name.to_string() }
    }

    /// The user agent acting for `principal`: `browser:<principal>`.
    pub fn browser_of(principal: &str) -> Party {
        Party { name: format!("{BROWSER}{principal}") }
    }

    /// Its name, as the trace shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when it is a user agent acting for another party.
    pub fn is_browser(&self) -> bool {
        Party::names_a_browser(&self.name)
    }

    /// True when `name` is a user agent's (for a hot path that holds only the name).
    pub fn names_a_browser(name: &str) -> bool {
        name.starts_with(BROWSER)
    }

    /// The party it acts for: a browser's principal, else itself.
    pub fn principal(&self) -> &str {
        self.name.strip_prefix(BROWSER).unwrap_or(&self.name)
    }

    /// True when it is a host making a fetch of its own (its name is its origin).
    pub fn is_host(&self) -> bool {
        self.name.starts_with("https://") || self.name.starts_with("http://")
    }

    /// True when it, or the party its browser acts for, is an attacker.
    pub fn is_attacker(&self) -> bool {
        self.acts_for(ATTACKER)
    }

    /// `n` for the party named `<prefix><n>` itself (not its browser): `attacker1` is
    /// attacker 1.
    pub fn index_after(&self, prefix: &str) -> Option<usize> {
        self.name.strip_prefix(prefix)?.parse().ok()
    }

    /// True when its name, or its principal's for a browser, starts with `prefix`.
    pub fn acts_for(&self, prefix: &str) -> bool {
        self.principal().starts_with(prefix)
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq<str> for Party {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for Party {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Party;

    #[test]
    fn names_are_parsed_once() {
        let b = Party::browser_of("attacker1");
        assert_eq!(b.name(), "browser:attacker1");
        assert!(b.is_browser() && b.is_attacker());
        assert_eq!(b.principal(), "attacker1");
        assert_eq!(b.index_after("attacker"), None);
        assert_eq!(Party::named("attacker1").index_after("attacker"), Some(1));
        assert!(Party::named("https://mcp.example").is_host());
        assert!(!Party::named("victim").is_attacker());
        assert!(Party::named("browser:honest0").acts_for("honest"));
        assert!(!Party::named("honest0").is_browser());
    }
}
