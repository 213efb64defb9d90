//! One policy for a lock whose holder panicked: the data is taken as it is, and the server
//! carries on.
//!
//! Why: the servers' locks guard plain data (queues, subscriber lists, counters, the
//! market's books), each critical section is short, and a panic inside one is a bug that
//! tokio already reports and that ends only the task it happened in. Refusing the data
//! afterwards (`lock().expect(..)`) would turn one failed connection into every task
//! panicking in turn, taking the whole server down with it.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locking a [`Mutex`], poisoned or not.
pub trait Unpoisoned<T> {
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Unpoisoned<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reading and writing an [`RwLock`], poisoned or not.
pub trait UnpoisonedRw<T> {
    fn reading(&self) -> RwLockReadGuard<'_, T>;
    fn writing(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> UnpoisonedRw<T> for RwLock<T> {
    fn reading(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writing(&self) -> RwLockWriteGuard<'_, T> {
        self.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_whose_holder_panicked_still_gives_its_data() {
        let m = Mutex::new(vec![1]);
        let rw = RwLock::new(5);
        std::thread::scope(|s| {
            let _ = s
                .spawn(|| {
                    let mut v = m.lock().unwrap();
                    let _w = rw.write().unwrap();
                    v.push(2);
                    panic!("a bug while holding both");
                })
                .join();
        });
        assert!(m.is_poisoned() && rw.is_poisoned());
        assert_eq!(*m.locked(), [1, 2]);
        assert_eq!(*rw.reading(), 5);
        *rw.writing() += 1;
        assert_eq!(*rw.reading(), 6);
    }
}
