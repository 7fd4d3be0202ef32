//! Reading fuzz input as small numbers; past the end every read is zero, so every input,
//! however short, is a valid case.

/// A cursor over fuzz input.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&v, rest)) => {
                self.data = rest;
                v
            }
            None => 0,
        }
    }

    /// A little-endian u16 from the next two bytes.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }

    /// A value below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u16()) % n
    }

    /// Mostly small sizes (zero bytes give 1), sometimes 0 or huge ones (overflow paths).
    pub fn dim(&mut self) -> usize {
        match self.u8() {
            0..=199 => (self.below(6) + 1) % 6,
            200..=239 => 6 + self.below(34),
            240..=243 => usize::MAX,
            244..=247 => usize::MAX / 3,
            // Its square overflows usize (1 << 33 on 64-bit targets).
            248..=251 => 1 << (usize::BITS / 2 + 1),
            _ => usize::from(self.u16()),
        }
    }

    /// Whether the next byte is odd.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// The unread bytes (consumed).
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
