//! Splitting one layer of one image over the cores of a [`ThreadPool`]: output rows for
//! convolutions, pixel rows for pointwise GEMMs. Small layers, and calls made while the pool
//! is busy with another caller, run on the calling thread.

use std::ops::Range;
use std::sync::Mutex;

use ruvector_cnn_kernels::parallel::{MAX_THREADS, ThreadPool, even_bounds};

use crate::error::{Error, Result};

/// A persistent pool of `threads` workers, or `None` for one thread (0 or 1).
pub(crate) fn pool(threads: usize) -> Result<Option<ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    ThreadPool::new(threads)
        .map(Some)
        .map_err(|e| Error::Unsupported(format!("cannot start {threads} worker threads: {e}")))
}

/// Layers with fewer output values than this are not split (sync costs more than it saves).
const MIN_SPLIT: usize = 8192;

/// Runs `f(chunk, rows)` over `rows` rows of `row_len` elements of `out`, split over `pool`
/// (rows aligned to `align`), or once over all rows when there is no pool or little work.
pub(crate) fn rows<T: Send>(
    pool: Option<&ThreadPool>,
    out: &mut [T],
    rows: usize,
    row_len: usize,
    align: usize,
    f: impl Fn(&mut [T], Range<usize>) -> Result<()> + Sync,
) -> Result<()> {
    let len = rows * row_len;
    let have = out.len();
    let out = out.get_mut(..len).ok_or_else(|| {
        Error::InvalidArgument(format!("output holds {have} values, {len} needed"))
    })?;
    let Some(pool) = pool.filter(|p| p.threads() > 1 && len >= MIN_SPLIT) else {
        return f(out, 0..rows);
    };
    let mut row_bounds = [0usize; MAX_THREADS + 1];
    let parts = even_bounds(rows, pool.threads(), align, &mut row_bounds);
    let mut bounds = [0usize; MAX_THREADS + 1];
    for (b, r) in bounds.iter_mut().zip(&row_bounds).take(parts + 1) {
        *b = r * row_len;
    }
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    pool.split_mut(out, &bounds[..=parts], |i, chunk| {
        if let Err(e) = f(chunk, row_bounds[i]..row_bounds[i + 1]) {
            let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(e);
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
