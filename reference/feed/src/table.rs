//! Lookup tables for the handler's hot path: instruments by id (a vector for the small,
//! dense ids venues assign; a hash map beyond) and sessions (a handful: a short vector).

use rustc_hash::FxHashMap;

use crate::window::SeqWindow;

/// Ids below this index a vector directly.
const DENSE: u32 = 1 << 16;

#[derive(Debug)]
pub struct ById<T> {
    dense: Vec<Option<T>>,
    sparse: FxHashMap<u32, T>,
}

impl<T> Default for ById<T> {
    fn default() -> Self {
        Self {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
        }
    }
}

impl<T> ById<T> {
    pub fn get(&self, id: u32) -> Option<&T> {
        if id < DENSE {
            self.dense.get(id as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(&id)
        }
    }

    pub fn get_or_insert_with(&mut self, id: u32, make: impl FnOnce() -> T) -> &mut T {
        if id < DENSE {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].get_or_insert_with(make)
        } else {
            self.sparse.entry(id).or_insert_with(make)
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.dense
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some())
            .map(|(i, _)| i as u32)
            .chain(self.sparse.keys().copied())
    }
}

/// Sequence windows by session id.
#[derive(Debug, Default)]
pub struct Sessions {
    list: Vec<(u64, SeqWindow)>,
    /// Where the last session asked for is: consecutive messages mostly share a session.
    last: usize,
}

impl Sessions {
    pub fn window(&mut self, session: u64) -> &mut SeqWindow {
        if self.list.get(self.last).is_none_or(|(s, _)| *s != session) {
            self.last = match self.list.iter().position(|(s, _)| *s == session) {
                Some(i) => i,
                None => {
                    self.list.push((session, SeqWindow::default()));
                    self.list.len() - 1
                }
            };
        }
        &mut self.list[self.last].1
    }
}
