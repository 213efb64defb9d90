//! Typed indexes into the schema's tables.
//!
//! A field's type names a struct, an enumeration, a flag set or an alias by its position in
//! the schema's list of those. With bare `usize` positions nothing stops an enumeration's
//! index from being looked up among the structs; here each list is a [`Table`] indexed only
//! by its own id type ([`StructId`] into the structs, [`EnumId`] into the enumerations, …),
//! so such a mix-up does not compile. The layout's per-record tables use the same ids, so
//! `layout.structs[id]` is the layout of `schema.structs[id]`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(usize);

        impl $name {
            /// The id of the `index`-th entry of its table.
            pub const fn new(index: usize) -> Self {
                Self(index)
            }

            /// The entry's position in its table.
            pub const fn index(self) -> usize {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl TableId for $name {
            fn from_index(index: usize) -> Self {
                Self(index)
            }
            fn index(self) -> usize {
                self.0
            }
        }
    )*};
}

ids! {
    /// A struct of the schema ([`Schema::structs`](crate::model::Schema::structs)).
    StructId;
    /// A message ([`Schema::messages`](crate::model::Schema::messages)).
    MessageId;
    /// An enumeration ([`Schema::enums`](crate::model::Schema::enums)).
    EnumId;
    /// A flag set ([`Schema::flags`](crate::model::Schema::flags)).
    FlagsId;
    /// A type alias ([`Schema::aliases`](crate::model::Schema::aliases)).
    AliasId;
    /// A multicast channel ([`Schema::channels`](crate::model::Schema::channels)).
    ChannelId;
}

/// What a [`Table`] is indexed by.
pub trait TableId: Copy {
    fn from_index(index: usize) -> Self;
    fn index(self) -> usize;
}

/// A list indexed only by its id type `I`.
pub struct Table<I, T> {
    items: Vec<T>,
    _id: PhantomData<fn() -> I>,
}

impl<I: TableId, T> Table<I, T> {
    pub fn new() -> Self {
        Self::from(Vec::new())
    }

    /// Appends `item` and returns its id.
    pub fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::from_index(self.items.len() - 1)
    }

    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }

    /// Every entry with its id, in order.
    pub fn enumerate(&self) -> impl DoubleEndedIterator<Item = (I, &T)> + ExactSizeIterator {
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| (I::from_index(i), item))
    }

    /// Every id, in order.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = I> + ExactSizeIterator {
        (0..self.items.len()).map(I::from_index)
    }

    /// The id of the first entry for which `pred` holds.
    pub fn position(&self, pred: impl FnMut(&T) -> bool) -> Option<I> {
        self.items.iter().position(pred).map(I::from_index)
    }

    pub fn last(&self) -> Option<&T> {
        self.items.last()
    }
}

impl<I: TableId, T> Default for Table<I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, T> From<Vec<T>> for Table<I, T> {
    fn from(items: Vec<T>) -> Self {
        Self {
            items,
            _id: PhantomData,
        }
    }
}

impl<I: TableId, T> FromIterator<T> for Table<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(iter: It) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<I: TableId, T> Index<I> for Table<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: TableId, T> IndexMut<I> for Table<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<'a, I: TableId, T> IntoIterator for &'a Table<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<I, T: Clone> Clone for Table<I, T> {
    fn clone(&self) -> Self {
        Self::from(self.items.clone())
    }
}

impl<I, T: PartialEq> PartialEq for Table<I, T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<I, T: Eq> Eq for Table<I, T> {}

impl<I, T: fmt::Debug> fmt::Debug for Table<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.items.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_index_their_own_table() {
        let mut structs: Table<StructId, &str> = Table::new();
        let header = structs.push("Header");
        let level = structs.push("Level");
        assert_eq!((header.index(), level.index()), (0, 1));
        assert_eq!(structs[level], "Level");
        assert_eq!(structs.position(|s| *s == "Header"), Some(header));
        assert_eq!(
            structs
                .enumerate()
                .map(|(id, s)| (id, *s))
                .collect::<Vec<_>>(),
            vec![(header, "Header"), (level, "Level")]
        );
        assert_eq!(structs.get(StructId::new(2)), None);
    }
}
