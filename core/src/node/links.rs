//! The table of links, addressed by generation-checked ids so a stale id held by a driver
//! after a link closed can never reach a newer link in the same slot.

use crate::link::Link;

/// Identifies a link within its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId {
    index: u32,
    generation: u32,
}

impl LinkId {
    /// Slot index, dense from 0 (drivers may use it to index their own tables).
    pub fn index(self) -> usize {
        self.index as usize
    }

    #[cfg(test)]
    pub(crate) fn for_tests(index: u32) -> Self {
        Self { index, generation: 0 }
    }
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    link: Option<Link>,
}

/// Slab of links.
#[derive(Debug, Default)]
pub(crate) struct Links {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
    /// How many of them are clients (`max_connections` counts only those).
    clients: usize,
}

impl Links {
    /// Store `link`, returning its id.
    pub(crate) fn insert(&mut self, link: Link) -> LinkId {
        self.len += 1;
        self.clients += usize::from(matches!(link, Link::Client(_)));
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.link = Some(link);
            return LinkId { index, generation: slot.generation };
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot { generation: 0, link: Some(link) });
        LinkId { index, generation: 0 }
    }

    /// Take the link out; its id becomes stale.
    pub(crate) fn remove(&mut self, id: LinkId) -> Option<Link> {
        let slot = self.slots.get_mut(id.index())?;
        if slot.generation != id.generation {
            return None;
        }
        let link = slot.link.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.index);
        self.len -= 1;
        self.clients -= usize::from(matches!(link, Link::Client(_)));
        Some(link)
    }

    pub(crate) fn get(&self, id: LinkId) -> Option<&Link> {
        let slot = self.slots.get(id.index())?;
        if slot.generation != id.generation {
            return None;
        }
        slot.link.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: LinkId) -> Option<&mut Link> {
        let slot = self.slots.get_mut(id.index())?;
        if slot.generation != id.generation {
            return None;
        }
        slot.link.as_mut()
    }

    pub(crate) fn ids(&self) -> Vec<LinkId> {
        let mut ids = Vec::with_capacity(self.len);
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.link.is_some() {
                ids.push(LinkId { index: index as u32, generation: slot.generation });
            }
        }
        ids
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Link> {
        self.slots.iter().filter_map(|s| s.link.as_ref())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of client links.
    pub(crate) fn clients(&self) -> usize {
        self.clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_miss_reused_slots() {
        let mut links = Links::default();
        let a = links.insert(dummy());
        assert!(links.remove(a).is_some());
        let b = links.insert(dummy());
        assert_eq!(a.index(), b.index());
        assert!(links.get(a).is_none());
        assert!(links.get(b).is_some());
        assert!(links.remove(a).is_none());
        assert_eq!(links.len(), 1);
    }

    fn dummy() -> Link {
        crate::node::client::test_link()
    }
}
