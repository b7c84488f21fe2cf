//! The wire format: a 9-byte header, big endian: `u8` kind, `u32` stream id, `u32` length;
//! then, for `DATA`, `length` payload bytes.

pub(super) const HEADER_LEN: usize = 9;
pub(super) const KIND_OPEN: u8 = 1;
pub(super) const KIND_DATA: u8 = 2;
pub(super) const KIND_FIN: u8 = 3;
pub(super) const KIND_RESET: u8 = 4;
pub(super) const KIND_CREDIT: u8 = 5;

/// Appends one frame to `out`.
pub(super) fn encode(out: &mut Vec<u8>, kind: u8, id: u32, len: u32, payload: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Kind, stream id and length from the first [`HEADER_LEN`] bytes of `h`.
pub(super) fn decode_header(h: &[u8]) -> (u8, u32, u32) {
    let kind = h[0];
    let id = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
    let len = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    (kind, id, len)
}
