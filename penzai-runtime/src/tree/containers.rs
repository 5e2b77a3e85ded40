//! `Tree` for containers: `Vec<T>` (a sequence), `BTreeMap<String, T>` and `Option<T>`.

use std::collections::BTreeMap;

use super::error::ChildError;
use super::key::KeyRef;
use super::node::Tree;

fn mismatch<T: Tree>(value: Box<dyn Tree>) -> ChildError {
    ChildError::TypeMismatch {
        expected: T::slot_description(),
        given: value.type_name(),
        value,
    }
}

impl<T: Tree + Clone> Tree for Vec<T> {
    fn type_name(&self) -> &'static str {
        "Vec"
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        for (i, item) in self.iter().enumerate() {
            if let Some(child) = item.as_child() {
                visit(KeyRef::Index(i), child);
            }
        }
    }

    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        for (i, item) in self.iter_mut().enumerate() {
            if let Some(child) = item.as_child_mut() {
                visit(KeyRef::Index(i), child);
            }
        }
    }

    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        match key {
            KeyRef::Index(i) => self.get(i)?.as_child(),
            _ => None,
        }
    }

    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        match key {
            KeyRef::Index(i) => self.get_mut(i)?.as_child_mut(),
            _ => None,
        }
    }

    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        let slot = match key {
            KeyRef::Index(i) if i < self.len() => &mut self[i],
            _ => {
                return Err(ChildError::NoSuchChild {
                    key: key.to_owned_key(),
                    type_name: "Vec",
                    value: Some(value),
                });
            }
        };
        let new = T::from_tree(value).map_err(mismatch::<T>)?;
        Ok(Box::new(std::mem::replace(slot, new)))
    }

    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other
            .peer::<Vec<T>>()
            .is_some_and(|o| o.len() == self.len() && self.iter().zip(o).all(|(a, b)| a.tree_eq(b)))
    }

    fn sequence_len(&self) -> Option<usize> {
        Some(self.len())
    }

    fn insert_child(&mut self, index: usize, value: Box<dyn Tree>) -> Result<(), ChildError> {
        if index > self.len() {
            return Err(ChildError::OutOfRange {
                index,
                len: self.len(),
                value: Some(value),
            });
        }
        let new = T::from_tree(value).map_err(mismatch::<T>)?;
        self.insert(index, new);
        Ok(())
    }

    fn remove_child(&mut self, index: usize) -> Result<Box<dyn Tree>, ChildError> {
        if index >= self.len() {
            return Err(ChildError::OutOfRange {
                index,
                len: self.len(),
                value: None,
            });
        }
        Ok(Box::new(self.remove(index)))
    }
}

impl<T: Tree + Clone> Tree for BTreeMap<String, T> {
    fn type_name(&self) -> &'static str {
        "BTreeMap"
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        for (k, v) in self {
            if let Some(child) = v.as_child() {
                visit(KeyRef::Name(k), child);
            }
        }
    }

    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        for (k, v) in self.iter_mut() {
            if let Some(child) = v.as_child_mut() {
                visit(KeyRef::Name(k), child);
            }
        }
    }

    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        match key {
            KeyRef::Name(k) => self.get(k)?.as_child(),
            _ => None,
        }
    }

    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        match key {
            KeyRef::Name(k) => self.get_mut(k)?.as_child_mut(),
            _ => None,
        }
    }

    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        let slot = match key {
            KeyRef::Name(k) if self.contains_key(k) => self.get_mut(k),
            _ => None,
        };
        let Some(slot) = slot else {
            return Err(ChildError::NoSuchChild {
                key: key.to_owned_key(),
                type_name: "BTreeMap",
                value: Some(value),
            });
        };
        let new = T::from_tree(value).map_err(mismatch::<T>)?;
        Ok(Box::new(std::mem::replace(slot, new)))
    }

    fn tree_eq(&self, other: &dyn Tree) -> bool {
        other.peer::<BTreeMap<String, T>>().is_some_and(|o| {
            o.len() == self.len()
                && self
                    .iter()
                    .zip(o)
                    .all(|((ka, va), (kb, vb))| ka == kb && va.tree_eq(vb))
        })
    }
}

/// `Option<T>` is transparent: a parent shows the `T` itself in its place, or nothing when
/// it is `None`. A slot of type `Option<T>` accepts a `T` (stored as `Some`) or an `Option<T>`.
impl<T: Tree + Clone> Tree for Option<T> {
    fn type_name(&self) -> &'static str {
        match self {
            Some(inner) => inner.type_name(),
            None => "None",
        }
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        if let Some(inner) = self {
            inner.visit_children(visit);
        }
    }

    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        if let Some(inner) = self {
            inner.visit_children_mut(visit);
        }
    }

    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        self.as_ref()?.child(key)
    }

    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        self.as_mut()?.child_mut(key)
    }

    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        match self {
            Some(inner) => inner.replace_child(key, value),
            None => Err(ChildError::NoSuchChild {
                key: key.to_owned_key(),
                type_name: "None",
                value: Some(value),
            }),
        }
    }

    fn tree_eq(&self, other: &dyn Tree) -> bool {
        let other = match other.as_any().downcast_ref::<Option<T>>() {
            Some(o) => o.as_ref().map(|t| t as &dyn Tree),
            // A bare `T` compares equal to `Some(T)`: they are the same node to a parent.
            None => Some(other),
        };
        match (self, other) {
            (Some(a), Some(b)) => a.tree_eq(b),
            (None, None) => true,
            _ => false,
        }
    }

    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        Some(self.as_ref().and_then(|inner| inner.as_child()))
    }

    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        Some(self.as_mut().and_then(|inner| inner.as_child_mut()))
    }

    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        if value.is::<Option<T>>() {
            return value.downcast::<Option<T>>().map(|b| *b);
        }
        T::from_tree(value).map(Some)
    }

    fn slot_description() -> String {
        T::slot_description()
    }

    fn leaf(&self) -> Option<super::node::Leaf<'_>> {
        self.as_ref()?.leaf()
    }

    fn array_mut(&mut self) -> Option<&mut crate::nx::NamedArray> {
        self.as_mut()?.array_mut()
    }
}

/// `Box<T>` is transparent, like `Option<T>`: parents show the `T` in its place, so
/// recursive node types read naturally. A `Box<T>` slot accepts a `T` or a `Box<T>`.
impl<T: Tree + Clone> Tree for Box<T> {
    fn type_name(&self) -> &'static str {
        (**self).type_name()
    }

    fn visit_children<'a>(&'a self, visit: &mut dyn FnMut(KeyRef<'a>, &'a dyn Tree)) {
        (**self).visit_children(visit)
    }

    fn visit_children_mut(&mut self, visit: &mut dyn FnMut(KeyRef<'_>, &mut dyn Tree)) {
        (**self).visit_children_mut(visit)
    }

    fn child(&self, key: KeyRef<'_>) -> Option<&dyn Tree> {
        (**self).child(key)
    }

    fn child_mut(&mut self, key: KeyRef<'_>) -> Option<&mut dyn Tree> {
        (**self).child_mut(key)
    }

    fn replace_child(
        &mut self,
        key: KeyRef<'_>,
        value: Box<dyn Tree>,
    ) -> Result<Box<dyn Tree>, ChildError> {
        (**self).replace_child(key, value)
    }

    fn tree_eq(&self, other: &dyn Tree) -> bool {
        match other.as_any().downcast_ref::<Box<T>>() {
            Some(o) => (**self).tree_eq(&**o),
            None => (**self).tree_eq(other),
        }
    }

    fn transparent_child(&self) -> Option<Option<&dyn Tree>> {
        Some((**self).as_child())
    }

    fn transparent_child_mut(&mut self) -> Option<Option<&mut dyn Tree>> {
        Some((**self).as_child_mut())
    }

    fn from_tree(value: Box<dyn Tree>) -> Result<Self, Box<dyn Tree>> {
        if value.is::<Box<T>>() {
            return value.downcast::<Box<T>>().map(|b| *b);
        }
        T::from_tree(value).map(Box::new)
    }

    fn slot_description() -> String {
        T::slot_description()
    }

    fn leaf(&self) -> Option<super::node::Leaf<'_>> {
        (**self).leaf()
    }

    fn array_mut(&mut self) -> Option<&mut crate::nx::NamedArray> {
        (**self).array_mut()
    }
}
