//! Values read from files that pound reads again while it runs (`-filewatch`).

use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

/// A value every holder of a clone sees replaced at once. Readers never wait: a request
/// that loaded the old value finishes with it.
pub struct Live<T>(Arc<ArcSwap<T>>);

impl<T> Live<T> {
    pub fn new(value: T) -> Live<T> {
        Live(Arc::new(ArcSwap::from_pointee(value)))
    }

    /// The current value, for a short look (no reference count is taken in the common
    /// case).
    pub fn load(&self) -> Guard<Arc<T>> {
        self.0.load()
    }

    /// The current value, to keep.
    pub fn get(&self) -> Arc<T> {
        self.0.load_full()
    }

    pub fn store(&self, value: T) {
        self.0.store(Arc::new(value));
    }

    /// Whether `self` and `other` are the same value holder.
    pub fn same(&self, other: &Live<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Live(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

/// Equal when the current values are.
impl<T: PartialEq> PartialEq for Live<T> {
    fn eq(&self, other: &Self) -> bool {
        *self.load() == *other.load()
    }
}

impl<T: Eq> Eq for Live<T> {}

impl<T: Default> Default for Live<T> {
    fn default() -> Self {
        Live::new(T::default())
    }
}
