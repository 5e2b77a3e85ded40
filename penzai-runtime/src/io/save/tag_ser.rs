//! Writing a layer with its registered name: `{"type": "Linear", <the layer's fields>}`.
//!
//! A struct (or map, or unit) layer gets the `"type"` entry added in front of its own fields,
//! which keeps the structure file as readable as the model's printout. Any other shape (a
//! newtype over a number, an enum) is written as `{"type": "...", "value": <value>}`. Which
//! form applies is found by a probe that stops at the value's first serializer call, so the
//! layer is serialized once, streaming, with no intermediate buffer.

use std::fmt;

use serde::ser::{
    self, Error as _, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer,
};

use super::context::{enclosing_layer, fail_save};
use super::error::SaveError;

/// The key naming a layer's registered type.
pub(super) const TYPE_KEY: &str = "type";
/// The key holding a layer that does not serialize as a struct.
pub(super) const VALUE_KEY: &str = "value";

/// Serializes `value` as the layer type `tag` (see the module documentation).
pub(super) fn serialize_tagged<S: Serializer>(
    tag: &str,
    value: &dyn erased_serde::Serialize,
    s: S,
) -> Result<S::Ok, S::Error> {
    if is_flat(value) {
        erased_serde::serialize(value, TagAdder { tag, inner: s })
    } else {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry(TYPE_KEY, tag)?;
        map.serialize_entry(VALUE_KEY, value)?;
        map.end()
    }
}

/// Whether the value serializes as a struct, a map or a unit (looking through newtypes).
fn is_flat(value: &dyn erased_serde::Serialize) -> bool {
    match erased_serde::serialize(value, Probe) {
        Err(Shape::Flat) | Err(Shape::Failed) => true,
        Err(Shape::Other) | Ok(()) => false,
    }
}

/// What the probe saw. `Failed`: the value's own impl refused; the real pass repeats that error.
#[derive(Debug)]
enum Shape {
    Flat,
    Other,
    Failed,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl ser::Error for Shape {
    fn custom<T: fmt::Display>(_msg: T) -> Shape {
        Shape::Failed
    }
}

/// A serializer that answers every call with the shape of the value, without writing anything.
struct Probe;

macro_rules! probe_other {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<(), Shape> {
            Err(Shape::Other)
        }
    )*};
}

impl Serializer for Probe {
    type Ok = ();
    type Error = Shape;
    type SerializeSeq = Impossible<(), Shape>;
    type SerializeTuple = Impossible<(), Shape>;
    type SerializeTupleStruct = Impossible<(), Shape>;
    type SerializeTupleVariant = Impossible<(), Shape>;
    type SerializeMap = Impossible<(), Shape>;
    type SerializeStruct = Impossible<(), Shape>;
    type SerializeStructVariant = Impossible<(), Shape>;

    probe_other! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_str(&str); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Shape> {
        Err(Shape::Other)
    }
    fn serialize_unit(self) -> Result<(), Shape> {
        Err(Shape::Flat)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Shape> {
        Err(Shape::Flat)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Shape> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Other)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Shape> {
        Err(Shape::Other)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Shape> {
        Err(Shape::Other)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Shape> {
        Err(Shape::Other)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Shape> {
        Err(Shape::Other)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Shape> {
        Err(Shape::Flat)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Shape> {
        Err(Shape::Flat)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Shape> {
        Err(Shape::Other)
    }
}

/// Forwards a struct, map or unit to `inner` as a map whose first entry is `"type": tag`.
struct TagAdder<'t, S> {
    tag: &'t str,
    inner: S,
}

impl<S: Serializer> TagAdder<'_, S> {
    fn open(self, len: Option<usize>) -> Result<Tagged<S::SerializeMap>, S::Error> {
        let mut map = self.inner.serialize_map(len.map(|n| n + 1))?;
        map.serialize_entry(TYPE_KEY, self.tag)?;
        Ok(Tagged(map))
    }
}

/// The probe said this value is flat; a second call disagreeing means an impl whose shape
/// changes between calls.
fn changed<E: ser::Error>() -> E {
    E::custom("a layer's Serialize impl changed shape between two calls")
}

macro_rules! tag_other {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<S::Ok, S::Error> {
            Err(changed())
        }
    )*};
}

impl<S: Serializer> Serializer for TagAdder<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Tagged<S::SerializeMap>;
    type SerializeStruct = Tagged<S::SerializeMap>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    tag_other! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_str(&str); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(changed())
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.open(Some(0))?.0.end()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<S::Ok, S::Error> {
        self.open(Some(0))?.0.end()
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(changed())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(changed())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(changed())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(changed())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(changed())
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.open(len)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.open(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(changed())
    }
}

/// A map already holding the `"type"` entry; the layer's fields follow.
struct Tagged<M>(M);

impl<M: SerializeMap> SerializeStruct for Tagged<M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        if key == TYPE_KEY {
            let (path, type_name) = enclosing_layer();
            return Err(M::Error::custom(fail_save(SaveError::Unsavable {
                path,
                type_name,
                reason: format!(
                    "its field {TYPE_KEY:?} clashes with the key naming the layer type; rename the field (e.g. `#[serde(rename = \"kind\")]`)"
                ),
            })));
        }
        self.0.serialize_entry(key, value)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

impl<M: SerializeMap> SerializeMap for Tagged<M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), M::Error> {
        self.0.serialize_key(key)
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), M::Error> {
        self.0.serialize_value(value)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}
