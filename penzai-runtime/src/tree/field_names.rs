//! Field names, interned: each distinct name is stored once, and every [`Key`](super::Key)
//! naming it borrows that copy, so building a path (a query's result, a Treescope node's
//! key) and cloning one allocate nothing per field.
//!
//! Names come from struct fields (a fixed set) and from named steps. The table is bounded:
//! past [`MAX_NAMES`] names, or for a name longer than [`MAX_NAME_BYTES`], a key owns its own
//! copy instead, so input with many distinct names (a crafted saved model) cannot grow it
//! without limit. What the table holds is never freed (at most about 256 KiB).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, PoisonError, RwLock};

/// How many names the table keeps.
const MAX_NAMES: usize = 4096;
/// The longest name the table keeps.
const MAX_NAME_BYTES: usize = 64;

/// FNV-1a: field names are short, and SipHash's protection against chosen collisions is
/// not needed for a table that stops growing at [`MAX_NAMES`].
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Names = HashSet<&'static str, BuildHasherDefault<Fnv>>;

static NAMES: LazyLock<RwLock<Names>> = LazyLock::new(|| RwLock::new(Names::default()));

/// Slots of the per-thread cache in front of the table.
const RECENT_SLOTS: usize = 64;

thread_local! {
    /// The names this thread looked up recently, by the address they were passed at: a
    /// struct's field names are string literals, passed at the same address every time, so
    /// most lookups end here without hashing or locking. A hit is checked by content, as
    /// another string may live at a reused address.
    static RECENT: RefCell<[&'static str; RECENT_SLOTS]> = const { RefCell::new([""; RECENT_SLOTS]) };
}

/// `name` as a shared `'static` copy when the table has (or can take) it, else owned.
pub(crate) fn field_name(name: &str) -> Cow<'static, str> {
    if name.len() > MAX_NAME_BYTES {
        return Cow::Owned(name.to_owned());
    }
    let slot = ((name.as_ptr() as usize >> 3) ^ name.len()) % RECENT_SLOTS;
    let recent = RECENT.with(|r| r.borrow()[slot]);
    if recent == name && !name.is_empty() {
        return Cow::Borrowed(recent);
    }
    let shared = shared_name(name);
    if let Cow::Borrowed(shared) = shared {
        RECENT.with(|r| r.borrow_mut()[slot] = shared);
    }
    shared
}

/// `name` from the table, added if there is room.
fn shared_name(name: &str) -> Cow<'static, str> {
    if let Some(&shared) = NAMES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
    {
        return Cow::Borrowed(shared);
    }
    let mut names = NAMES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(&shared) = names.get(name) {
        return Cow::Borrowed(shared);
    }
    if names.len() >= MAX_NAMES {
        return Cow::Owned(name.to_owned());
    }
    let shared: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(shared);
    Cow::Borrowed(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_stored_once_and_shared() {
        let a = field_name(&String::from("field_names_test_weights"));
        let b = field_name("field_names_test_weights");
        match (a, b) {
            (Cow::Borrowed(a), Cow::Borrowed(b)) => assert!(std::ptr::eq(a, b)),
            other => panic!("not shared: {other:?}"),
        }
    }

    #[test]
    fn a_reused_address_does_not_return_the_old_name() {
        let mut buffer = String::from("field_names_test_aaaa");
        assert_eq!(field_name(&buffer), "field_names_test_aaaa");
        buffer.replace_range(.., "field_names_test_bbbb");
        assert_eq!(field_name(&buffer), "field_names_test_bbbb");
        assert_eq!(field_name(""), "");
    }

    #[test]
    fn long_names_are_not_kept() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(field_name(&long), Cow::Owned(s) if s == long));
    }
}
