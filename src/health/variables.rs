//! The server variables a poll read, shared rather than copied: a fleet poller reads them every
//! 10 s but every poll's figures carry them, so the polls in between hand on the same map.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Variable name -> value, as the server spells them. Cloning shares the map; `insert` copies it
/// first only while it is shared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables(Arc<BTreeMap<String, String>>);

impl Variables {
    pub fn insert(&mut self, name: String, value: String) -> Option<String> {
        Arc::make_mut(&mut self.0).insert(name, value)
    }

    /// Whether both are the very same read (cheap; equal contents read twice are not the same).
    pub fn same_read(&self, other: &Variables) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Variables {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<BTreeMap<String, String>> for Variables {
    fn from(map: BTreeMap<String, String>) -> Self {
        Variables(Arc::new(map))
    }
}

impl FromIterator<(String, String)> for Variables {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Variables(Arc::new(iter.into_iter().collect()))
    }
}

impl Serialize for Variables {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Variables {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(Variables::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_read_and_a_change_unshares_it() {
        let mut a: Variables = [("max_connections".to_string(), "151".to_string())]
            .into_iter()
            .collect();
        let b = a.clone();
        assert!(a.same_read(&b));
        a.insert("read_only".into(), "ON".into());
        assert!(!a.same_read(&b));
        assert_eq!((a.len(), b.len()), (2, 1));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"max_connections":"151","read_only":"ON"}"#);
        let back: Variables = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
}
