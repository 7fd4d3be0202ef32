//! Scratch-buffer helpers: workspaces that grow once and are reused (networks, losses, the
//! head, the backward passes), and transposes.

/// Grows `v` to at least `len` elements (never shrinks, so reused buffers stop allocating).
pub(crate) fn grow<V: Clone + Default>(v: &mut Vec<V>, len: usize) {
    if v.len() < len {
        v.resize(len, V::default());
    }
}

/// `out[j·rows + i] = m[i·cols + j]` for the first `rows` rows of `cols` values.
pub(crate) fn transpose_into<T: Copy>(m: &[T], rows: usize, cols: usize, out: &mut [T]) {
    for (i, row) in m.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[j * rows + i] = v;
        }
    }
}

/// The transpose of the `rows × cols` matrix `m`, newly allocated.
pub(crate) fn transpose<T: Copy + Default>(m: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::default(); rows * cols];
    transpose_into(m, rows, cols, &mut out);
    out
}
