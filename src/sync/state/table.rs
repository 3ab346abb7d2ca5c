//! The sync state's records in memory, compactly (issue 32): every key in one buffer, in
//! order, and one fixed-size entry per record, found by binary search. On a board of 30 sets
//! (29,242 records) that is about 3 MB, where a map of a `String` and a `Record` per item took
//! about three times as much, and a save held two of them and the whole text at once.

use super::{Identity, Owner, Record};

/// The records of a state, sorted by key.
#[derive(Debug, Default)]
pub(super) struct Table {
    /// Every key, one after the other, in order.
    keys: String,
    entries: Vec<Entry>,
}

/// One record, packed: the flags say which of the optional fields hold something.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Where the key ends in [`Table::keys`]; it starts where the previous entry's ends.
    key_end: u32,
    flags: u8,
    owner: i32,
    row: u32,
    hash: u64,
    stamp: u64,
    pending: u64,
    stat: u64,
}

const PENDING: u8 = 1;
const STAT: u8 = 2;
const IDENTITY: u8 = 4;
const THEME: u8 = 8;
const ROW: u8 = 16;

impl Entry {
    fn pack(key_end: u32, record: &Record) -> Entry {
        let mut flags = 0;
        let (mut owner, mut row) = (0, 0);
        if let Some(identity) = record.identity {
            flags |= IDENTITY;
            owner = match identity.owner {
                Owner::Set(sid) => sid,
                Owner::Theme(tid) => {
                    flags |= THEME;
                    // A tid kept as its bits: unpacked as the same u32.
                    tid as i32
                }
            };
            if let Some(own) = identity.row {
                flags |= ROW;
                row = own;
            }
        }
        if record.pending.is_some() {
            flags |= PENDING;
        }
        if record.stat.is_some() {
            flags |= STAT;
        }
        Entry {
            key_end,
            flags,
            owner,
            row,
            hash: record.hash,
            stamp: record.stamp,
            pending: record.pending.unwrap_or(0),
            stat: record.stat.unwrap_or(0),
        }
    }

    fn unpack(&self) -> Record {
        let has = |flag: u8| self.flags & flag != 0;
        let identity = has(IDENTITY).then(|| Identity {
            owner: match has(THEME) {
                true => Owner::Theme(self.owner as u32),
                false => Owner::Set(self.owner),
            },
            row: has(ROW).then_some(self.row),
        });
        Record {
            hash: self.hash,
            stamp: self.stamp,
            pending: has(PENDING).then_some(self.pending),
            identity,
            stat: has(STAT).then_some(self.stat),
        }
    }
}

/// Why a record could not be added to a table.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Its key does not come after the last one (a file not written in order: build with
    /// [`Table::from_unsorted`]).
    OutOfOrder,
    /// The keys would pass 4 GiB, beyond any board.
    TooBig,
}

impl Table {
    /// Returns the number of records.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn key_at(&self, n: usize) -> &str {
        let start = match n {
            0 => 0,
            n => self.entries[n - 1].key_end as usize,
        };
        &self.keys[start..self.entries[n].key_end as usize]
    }

    fn find(&self, key: &str) -> std::result::Result<usize, usize> {
        let (mut low, mut high) = (0, self.entries.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.key_at(mid).cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// Returns the record of `key`, if any.
    pub(super) fn get(&self, key: &str) -> Option<Record> {
        self.find(key).ok().map(|n| self.entries[n].unpack())
    }

    /// Returns every key and its record, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, Record)> {
        (0..self.entries.len()).map(|n| (self.key_at(n), self.entries[n].unpack()))
    }

    /// Adds `key` after the last record. A key equal to the last one replaces its record (the
    /// last line of a file wins, as a map's insert did).
    pub(super) fn push(&mut self, key: &str, record: &Record) -> std::result::Result<(), Refused> {
        if let Some(last) = self.entries.len().checked_sub(1) {
            match self.key_at(last).cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    let key_end = self.entries[last].key_end;
                    self.entries[last] = Entry::pack(key_end, record);
                    return Ok(());
                }
                std::cmp::Ordering::Greater => return Err(Refused::OutOfOrder),
            }
        }
        let key_end = u32::try_from(self.keys.len() + key.len()).map_err(|_| Refused::TooBig)?;
        self.keys.push_str(key);
        self.entries.push(Entry::pack(key_end, record));
        Ok(())
    }

    /// Gives back the room the table grew into and does not use (a table read from a file grows
    /// by doubling, not knowing its size beforehand).
    pub(super) fn shrink(&mut self) {
        self.keys.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    /// Builds a table from records in any order, the last of equal keys winning.
    pub(super) fn from_unsorted(
        mut records: Vec<(String, Record)>,
    ) -> std::result::Result<Table, Refused> {
        // Stable: of equal keys the later stays later, and so wins in `push`.
        records.sort_by(|a, b| a.0.cmp(&b.0));
        let mut table = Table::default();
        table.keys.reserve_exact(records.iter().map(|(key, _)| key.len()).sum());
        table.entries.reserve_exact(records.len());
        for (key, record) in &records {
            table.push(key, record)?;
        }
        Ok(table)
    }

    /// Applies `changes` (None: forget the key), in place where every change is to a key the
    /// table holds (a pull's, a reconcile's, a re-export's), else into a new table (new or
    /// forgotten keys); either way without a second copy of the keys beyond that new table.
    pub(super) fn apply<'c>(
        &mut self,
        changes: impl Iterator<Item = (&'c String, &'c Option<Record>)> + Clone,
    ) -> std::result::Result<(), Refused> {
        let mut in_place = Vec::new();
        // What a new table would need beyond this one: room for every new key.
        let (mut new_keys, mut new_bytes, mut rebuild) = (0, 0, false);
        for (key, change) in changes.clone() {
            match (self.find(key), change) {
                (Ok(n), Some(record)) => in_place.push((n, *record)),
                (Err(_), None) => {}
                (Ok(_), None) => rebuild = true,
                (Err(_), Some(_)) => {
                    rebuild = true;
                    new_keys += 1;
                    new_bytes += key.len();
                }
            }
        }
        if rebuild {
            return self.rebuild(changes, new_keys, new_bytes);
        }
        for (n, record) in in_place {
            let key_end = self.entries[n].key_end;
            self.entries[n] = Entry::pack(key_end, &record);
        }
        Ok(())
    }

    /// [`Table::apply`] into a new table: a merge of the two sorted sequences, into a table
    /// made the size it will be (`new_keys` more records, of `new_bytes` more key bytes), so
    /// that no growth by doubling leaves up to half of it unused.
    fn rebuild<'c>(
        &mut self,
        changes: impl Iterator<Item = (&'c String, &'c Option<Record>)>,
        new_keys: usize,
        new_bytes: usize,
    ) -> std::result::Result<(), Refused> {
        let old = std::mem::take(self);
        self.keys.reserve_exact(old.keys.len() + new_bytes);
        self.entries.reserve_exact(old.entries.len() + new_keys);
        let mut changes = changes.peekable();
        let mut n = 0;
        loop {
            let take_change = match (n < old.len(), changes.peek()) {
                (false, None) => break,
                (false, Some(_)) => true,
                (true, None) => false,
                (true, Some((key, _))) => key.as_str() <= old.key_at(n),
            };
            if take_change {
                let Some((key, change)) = changes.next() else { break };
                if n < old.len() && old.key_at(n) == key.as_str() {
                    n += 1;
                }
                if let Some(record) = change {
                    self.push(key, record)?;
                }
            } else {
                self.push(old.key_at(n), &old.entries[n].unpack())?;
                n += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(n: u64) -> Record {
        Record { hash: n, stamp: n, pending: None, identity: None, stat: None }
    }

    #[test]
    fn records_pack_and_unpack_unchanged() {
        let identities = [
            None,
            Some(Identity { owner: Owner::Set(-1), row: None }),
            Some(Identity { owner: Owner::Set(7), row: Some(u32::MAX) }),
            Some(Identity { owner: Owner::Theme(u32::MAX), row: Some(0) }),
        ];
        let mut table = Table::default();
        let mut expected = Vec::new();
        for (n, identity) in identities.into_iter().enumerate() {
            let n = n as u64;
            let record = Record {
                hash: u64::MAX - n,
                stamp: n,
                pending: n.is_multiple_of(2).then_some(n),
                identity,
                stat: (!n.is_multiple_of(2)).then_some(0),
            };
            let key = format!("key {n}");
            table.push(&key, &record).unwrap();
            expected.push((key, record));
        }
        let got: Vec<_> = table.iter().map(|(k, r)| (k.to_owned(), r)).collect();
        assert_eq!(got, expected);
        assert_eq!(table.get("key 2"), Some(expected[2].1));
        assert_eq!(table.get("key"), None);
        assert_eq!(table.push("a", &record(1)), Err(Refused::OutOfOrder));
    }

    #[test]
    fn changes_apply_as_a_map_would() {
        let mut table = Table::default();
        let mut map = BTreeMap::new();
        for n in (0..40).step_by(2) {
            table.push(&format!("k{n:02}"), &record(n)).unwrap();
            map.insert(format!("k{n:02}"), record(n));
        }
        // Updates only (in place), then new and forgotten keys (a merge).
        let updates: BTreeMap<String, Option<Record>> =
            [("k04".to_owned(), Some(record(100))), ("k05".to_owned(), None)].into();
        let merged: BTreeMap<String, Option<Record>> = [
            ("a".to_owned(), Some(record(1))),
            ("k00".to_owned(), None),
            ("k03".to_owned(), Some(record(3))),
            ("k38".to_owned(), Some(record(380))),
            ("z".to_owned(), Some(record(9))),
        ]
        .into();
        for changes in [updates, merged] {
            table.apply(changes.iter()).unwrap();
            for (key, change) in &changes {
                match change {
                    Some(record) => map.insert(key.clone(), *record),
                    None => map.remove(key),
                };
            }
            let got: BTreeMap<String, Record> =
                table.iter().map(|(k, r)| (k.to_owned(), r)).collect();
            assert_eq!(got, map);
        }
        let unsorted = vec![("b".to_owned(), record(1)), ("a".to_owned(), record(2))];
        let table = Table::from_unsorted(unsorted).unwrap();
        assert_eq!(table.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b"]);
    }
}
