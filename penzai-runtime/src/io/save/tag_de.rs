//! Reading a layer written by [`tag_ser`](super::tag_ser): find the `"type"` entry, then hand
//! the rest of the map to that type's deserializer.
//!
//! The writer puts `"type"` first, so the common case streams. If other entries come first (a
//! hand-edited file, or one re-written by a tool that sorts keys), they are buffered as JSON
//! values until `"type"` is found and replayed before the rest; the buffer is bounded by the
//! input itself.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

use super::tag_ser::{TYPE_KEY, VALUE_KEY};
use crate::quote::{QUOTE_LIMIT, Quoted};

/// A key cut to a bounded prefix for serde's messages (which quote it whole).
fn clip(key: &str) -> String {
    match key.len() > QUOTE_LIMIT {
        true => format!("{}…", &key[..key.floor_char_boundary(QUOTE_LIMIT)]),
        false => key.to_owned(),
    }
}

/// What to build once the type name is known.
pub(super) trait TagTarget<'de> {
    /// The value built.
    type Value;
    /// Builds the value of the layer type `tag` from the remaining entries.
    fn finish<A: MapAccess<'de>>(
        self,
        tag: String,
        rest: RestOfMap<'de, A>,
    ) -> Result<Self::Value, A::Error>;
}

/// Visits a tagged layer's map.
pub(super) struct TaggedVisitor<T>(pub T);

impl<'de, T: TagTarget<'de>> Visitor<'de> for TaggedVisitor<T> {
    type Value = T::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a layer: a map with a \"type\" entry naming its registered type")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T::Value, A::Error> {
        let mut buffered: VecDeque<(String, serde_json::Value)> = VecDeque::new();
        loop {
            let Some(key) = map.next_key::<String>()? else {
                return Err(A::Error::missing_field(TYPE_KEY));
            };
            if key == TYPE_KEY {
                let tag: String = map.next_value()?;
                return self.0.finish(
                    tag,
                    RestOfMap {
                        map,
                        buffered,
                        pending: None,
                        fields: None,
                        marker: PhantomData,
                    },
                );
            }
            if buffered.iter().any(|(k, _)| *k == key) {
                return Err(A::Error::custom(format_args!(
                    "repeated entry {} in this layer",
                    Quoted(&key)
                )));
            }
            let value: serde_json::Value = map.next_value()?;
            buffered.push_back((key, value));
        }
    }
}

/// The entries of a layer's map after `"type"`, as a deserializer for the layer type: a
/// struct (or map) reads them as its fields, a unit expects none, anything else reads the
/// single `"value"` entry.
pub(super) struct RestOfMap<'de, A> {
    map: A,
    /// Entries that came before `"type"`, replayed first.
    buffered: VecDeque<(String, serde_json::Value)>,
    /// The value of a buffered key just handed out.
    pending: Option<serde_json::Value>,
    /// The fields of the struct being read, once known: any other entry is an error.
    fields: Option<&'static [&'static str]>,
    marker: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> RestOfMap<'de, A> {
    /// Fails unless every entry has been read.
    fn expect_end(&mut self) -> Result<(), A::Error> {
        match self.next_key::<String>()? {
            None => Ok(()),
            Some(key) => Err(A::Error::custom(format!(
                "unexpected entry {} in this layer",
                Quoted(&key)
            ))),
        }
    }

    /// Reads the single `"value"` entry with `seed`.
    fn single_value<T: DeserializeSeed<'de>>(mut self, seed: T) -> Result<T::Value, A::Error> {
        match self.next_key::<String>()? {
            Some(key) if key == VALUE_KEY => {}
            Some(key) => {
                return Err(A::Error::custom(format!(
                    "expected the entry \"value\" in this layer, found {}",
                    Quoted(&key)
                )));
            }
            None => return Err(A::Error::missing_field(VALUE_KEY)),
        }
        let value = self.next_value_seed(seed)?;
        self.expect_end()?;
        Ok(value)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for RestOfMap<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = match self.buffered.pop_front() {
            Some((key, value)) => {
                self.pending = Some(value);
                key
            }
            None => match self.map.next_key::<String>()? {
                Some(key) => key,
                None => return Ok(None),
            },
        };
        // Checked here, while the parser stands just after the key, so the error carries
        // its byte offset: a second "type" (JSON allows repeated keys; reading either one
        // silently would be a guess) and a field the layer type does not have.
        if key == TYPE_KEY {
            return Err(A::Error::custom(format_args!(
                "repeated entry {} in this layer",
                Quoted(TYPE_KEY)
            )));
        }
        if let Some(fields) = self.fields
            && !fields.contains(&key.as_str())
        {
            return Err(A::Error::unknown_field(&clip(&key), fields));
        }
        seed.deserialize(de::value::StringDeserializer::<A::Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.pending.take() {
            Some(value) => seed.deserialize(value).map_err(A::Error::custom),
            None => self.map.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint().map(|n| n + self.buffered.len())
    }
}

/// Deserializer methods that read the `"value"` entry, each forwarding to the same method.
macro_rules! via_value {
    ($($method:ident => $variant:ident $(($($arg:ident: $ty:ty),*))?;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, A::Error> {
            self.single_value(Forward { method: Method::$variant $(($($arg),*))?, visitor })
        }
    )*};
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for RestOfMap<'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        // Serde's derive ignores unknown fields unless told otherwise; a saved layer must
        // not carry entries its type would silently drop.
        self.fields = Some(fields);
        visitor.visit_map(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, A::Error> {
        self.expect_end()?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        mut self,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        while self.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        visitor.visit_unit()
    }

    via_value! {
        deserialize_bool => Bool; deserialize_i8 => I8; deserialize_i16 => I16;
        deserialize_i32 => I32; deserialize_i64 => I64; deserialize_i128 => I128;
        deserialize_u8 => U8; deserialize_u16 => U16; deserialize_u32 => U32;
        deserialize_u64 => U64; deserialize_u128 => U128; deserialize_f32 => F32;
        deserialize_f64 => F64; deserialize_char => Char; deserialize_str => Str;
        deserialize_string => String; deserialize_bytes => Bytes;
        deserialize_byte_buf => ByteBuf; deserialize_option => Option;
        deserialize_seq => Seq; deserialize_identifier => Identifier;
        deserialize_tuple => Tuple(len: usize);
        deserialize_tuple_struct => TupleStruct(name: &'static str, len: usize);
        deserialize_enum => Enum(name: &'static str, variants: &'static [&'static str]);
    }
}

/// Which `Deserializer` method a layer type asked for.
enum Method {
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    String,
    Bytes,
    ByteBuf,
    Option,
    Seq,
    Identifier,
    Tuple(usize),
    TupleStruct(&'static str, usize),
    Enum(&'static str, &'static [&'static str]),
}

/// Calls `method` with `visitor` on the deserializer of the `"value"` entry.
struct Forward<V> {
    method: Method,
    visitor: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Forward<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let v = self.visitor;
        match self.method {
            Method::Bool => d.deserialize_bool(v),
            Method::I8 => d.deserialize_i8(v),
            Method::I16 => d.deserialize_i16(v),
            Method::I32 => d.deserialize_i32(v),
            Method::I64 => d.deserialize_i64(v),
            Method::I128 => d.deserialize_i128(v),
            Method::U8 => d.deserialize_u8(v),
            Method::U16 => d.deserialize_u16(v),
            Method::U32 => d.deserialize_u32(v),
            Method::U64 => d.deserialize_u64(v),
            Method::U128 => d.deserialize_u128(v),
            Method::F32 => d.deserialize_f32(v),
            Method::F64 => d.deserialize_f64(v),
            Method::Char => d.deserialize_char(v),
            Method::Str => d.deserialize_str(v),
            Method::String => d.deserialize_string(v),
            Method::Bytes => d.deserialize_bytes(v),
            Method::ByteBuf => d.deserialize_byte_buf(v),
            Method::Option => d.deserialize_option(v),
            Method::Seq => d.deserialize_seq(v),
            Method::Identifier => d.deserialize_identifier(v),
            Method::Tuple(len) => d.deserialize_tuple(len, v),
            Method::TupleStruct(name, len) => d.deserialize_tuple_struct(name, len, v),
            Method::Enum(name, variants) => d.deserialize_enum(name, variants, v),
        }
    }
}
