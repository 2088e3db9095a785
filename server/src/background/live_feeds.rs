//! Caps how many live-update streams (`/api/events`) one user holds open at once, so a script
//! that opens streams in a loop exhausts its own allowance, not the server's sockets and memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

pub struct LiveFeeds {
    per_user: usize,
    open: Mutex<HashMap<Uuid, usize>>,
}

/// One open stream; dropping it (when the stream ends) frees the user's slot.
pub struct FeedSlot {
    feeds: Arc<LiveFeeds>,
    user: Uuid,
}

impl LiveFeeds {
    pub fn new(per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            per_user,
            open: Mutex::new(HashMap::new()),
        })
    }

    pub fn per_user(&self) -> usize {
        self.per_user
    }

    /// A slot for `user`, or `None` when they already hold `per_user` streams.
    pub fn open(self: &Arc<Self>, user: Uuid) -> Option<FeedSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(user).or_default();
        if *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(FeedSlot {
            feeds: self.clone(),
            user,
        })
    }
}

impl Drop for FeedSlot {
    fn drop(&mut self) {
        let mut open = self.feeds.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_user_and_freed_on_drop() {
        let feeds = LiveFeeds::new(2);
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let first = feeds.open(alice).unwrap();
        let _second = feeds.open(alice).unwrap();
        assert!(feeds.open(alice).is_none());
        assert!(feeds.open(bob).is_some(), "another user is not affected");
        drop(first);
        assert!(feeds.open(alice).is_some());
    }
}
