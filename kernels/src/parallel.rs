//! A small persistent thread pool for splitting one operator's output across cores.
//!
//! [`ThreadPool::split_mut`] hands disjoint, contiguous parts of one output slice to
//! `threads` workers (the calling thread is one of them) and returns when all parts are done.
//! Workers spin briefly between jobs (an inference pass issues one job per layer, microseconds
//! apart), then sleep on a condition variable. A job never allocates.
//!
//! Soundness: the job (a reference to the caller's closure and output pointer) is published
//! under a mutex together with its part counter; a worker claims a part and reads the job in
//! the same critical section, so every claimed part belongs to the job that is current, and
//! the caller does not return (ending the borrows the job refers to) until every claimed part
//! has finished.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most threads a pool runs (parts per job).
pub const MAX_THREADS: usize = 64;

/// How long an idle worker spins before sleeping.
const SPIN: Duration = Duration::from_micros(200);

/// A type-erased part runner: `run(ctx, part)`.
#[derive(Clone, Copy)]
struct Job {
    ctx: *const (),
    run: unsafe fn(*const (), usize),
}

// SAFETY: a `Job` is only created by `split_mut` from a `Sync` closure and a pointer to
// disjoint output parts, and only run while `split_mut` waits for it (module docs).
unsafe impl Send for Job {}

struct State {
    job: Option<Job>,
    next: usize,
    parts: usize,
    running: usize,
    /// A part of the current job panicked (re-raised on the caller).
    panicked: bool,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped per job, so idle workers can spin without the lock.
    epoch: AtomicU64,
    wake: Condvar,
    done: Condvar,
    /// Parts of the current job not finished yet (lets the caller spin instead of sleeping).
    outstanding: AtomicUsize,
    /// Workers asleep on `wake` (SeqCst with `epoch`: a bump is never missed by both sides).
    sleeping: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims and runs parts of the current job until none is left.
    fn work(&self) {
        loop {
            let (job, part) = {
                let mut s = self.lock();
                match s.job {
                    Some(job) if s.next < s.parts => {
                        s.next += 1;
                        s.running += 1;
                        (job, s.next - 1)
                    }
                    _ => return,
                }
            };
            // A panicking part must still be counted, or the caller would wait forever.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: the part was claimed from the current job under the lock; the
                // job's caller waits until `running` drops back to zero (module docs).
                unsafe { (job.run)(job.ctx, part) }
            }));
            let mut s = self.lock();
            s.running -= 1;
            s.panicked |= outcome.is_err();
            self.outstanding.fetch_sub(1, Ordering::Release);
            if s.running == 0 && s.next >= s.parts {
                self.done.notify_all();
            }
        }
    }
}

/// A pool of `threads − 1` workers plus the calling thread.
pub struct ThreadPool {
    /// Held for a whole job; a caller that finds it taken runs its job alone instead.
    busy: Mutex<()>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl ThreadPool {
    /// A pool that splits work `threads` ways (1 ..= [`MAX_THREADS`]; 1 runs everything on
    /// the caller). Errors if a worker thread cannot be spawned.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let threads = threads.clamp(1, MAX_THREADS);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                job: None,
                next: 0,
                parts: 0,
                running: 0,
                panicked: false,
                stop: false,
            }),
            epoch: AtomicU64::new(0),
            wake: Condvar::new(),
            done: Condvar::new(),
            outstanding: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
        });
        let mut workers = Vec::new();
        for i in 1..threads {
            let sh = Arc::clone(&shared);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("rvcnn-worker-{i}"))
                    .spawn(move || worker(&sh))?,
            );
        }
        Ok(ThreadPool {
            busy: Mutex::new(()),
            shared,
            workers,
            threads,
        })
    }

    /// Ways work is split.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f(i, &mut data[bounds[i]..bounds[i + 1]])` for every part `i`, in parallel, and
    /// returns when all are done. `bounds` must be non-decreasing, start at 0 and end at
    /// `data.len()`, with at most [`MAX_THREADS`] parts; otherwise this panics (a caller bug).
    /// If another thread is running a job on this pool, the parts run on the caller alone.
    pub fn split_mut<T: Send, F>(&self, data: &mut [T], bounds: &[usize], f: F)
    where
        F: Fn(usize, &mut [T]) + Sync,
    {
        let parts = bounds.len().saturating_sub(1);
        assert!(
            parts <= MAX_THREADS
                && bounds.first() == Some(&0)
                && bounds.last() == Some(&data.len())
                && bounds.windows(2).all(|w| w[0] <= w[1]),
            "split_mut: bad bounds"
        );
        let Some(_guard) = self.claim(parts) else {
            for i in 0..parts {
                f(i, &mut data[bounds[i]..bounds[i + 1]]);
            }
            return;
        };
        struct Ctx<'a, T, F> {
            base: *mut T,
            bounds: &'a [usize],
            f: &'a F,
        }
        /// # Safety
        /// `ctx` points to a live `Ctx<T, F>`; each `part` is run at most once per job.
        unsafe fn run<T: Send, F: Fn(usize, &mut [T]) + Sync>(ctx: *const (), part: usize) {
            // SAFETY: per the contract.
            let c = unsafe { &*ctx.cast::<Ctx<'_, T, F>>() };
            let (lo, hi) = (c.bounds[part], c.bounds[part + 1]);
            // SAFETY: `bounds` are checked non-decreasing within `data`, so parts are
            // disjoint sub-slices of the caller's `&mut data`, each handed out once.
            let chunk = unsafe { std::slice::from_raw_parts_mut(c.base.add(lo), hi - lo) };
            (c.f)(part, chunk);
        }
        let ctx = Ctx {
            base: data.as_mut_ptr(),
            bounds,
            f: &f,
        };
        self.run_job(
            parts,
            Job {
                ctx: (&raw const ctx).cast(),
                run: run::<T, F>,
            },
        );
    }

    /// Runs `f(i, &mut items[i])` for every item, in parallel (at most [`MAX_THREADS`] items;
    /// more is a caller bug and panics), and returns when all are done. If another thread is
    /// running a job on this pool, the items run on the caller alone.
    pub fn for_each_mut<T, F>(&self, items: &mut [T], f: F)
    where
        T: Send,
        F: Fn(usize, &mut T) + Sync,
    {
        let parts = items.len();
        assert!(
            parts <= MAX_THREADS,
            "for_each_mut: more than MAX_THREADS items"
        );
        let Some(_guard) = self.claim(parts) else {
            for (i, item) in items.iter_mut().enumerate() {
                f(i, item);
            }
            return;
        };
        struct Ctx<'a, T, F> {
            base: *mut T,
            f: &'a F,
        }
        /// # Safety
        /// `ctx` points to a live `Ctx<T, F>` over at least `part + 1` items; each `part` is
        /// run at most once per job.
        unsafe fn run<T: Send, F: Fn(usize, &mut T) + Sync>(ctx: *const (), part: usize) {
            // SAFETY: per the contract.
            let c = unsafe { &*ctx.cast::<Ctx<'_, T, F>>() };
            // SAFETY: parts index distinct items of the caller's `&mut items`, each once.
            let item = unsafe { &mut *c.base.add(part) };
            (c.f)(part, item);
        }
        let ctx = Ctx {
            base: items.as_mut_ptr(),
            f: &f,
        };
        self.run_job(
            parts,
            Job {
                ctx: (&raw const ctx).cast(),
                run: run::<T, F>,
            },
        );
    }

    /// Takes the pool for one job of `parts` parts, or `None` when the job should run on the
    /// caller alone (one part, no workers, or the pool busy with another caller).
    fn claim(&self, parts: usize) -> Option<MutexGuard<'_, ()>> {
        if parts <= 1 || self.workers.is_empty() {
            return None;
        }
        match self.busy.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Publishes `job`, works on it with the workers, and returns when all `parts` are done
    /// (re-raising a panic of any part). The caller holds the pool (`claim`) and keeps
    /// everything `job` points to alive until this returns.
    fn run_job(&self, parts: usize, job: Job) {
        let sh = &*self.shared;
        {
            let mut s = sh.lock();
            sh.outstanding.store(parts, Ordering::Relaxed);
            *s = State {
                job: Some(job),
                next: 0,
                parts,
                running: 0,
                panicked: false,
                stop: false,
            };
        }
        sh.epoch.fetch_add(1, Ordering::SeqCst);
        if sh.sleeping.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this notify after a worker's check-then-wait.
            drop(sh.lock());
            sh.wake.notify_all();
        }
        sh.work();
        // Parts are balanced, so the others finish soon: spin before sleeping.
        let start = Instant::now();
        while sh.outstanding.load(Ordering::Acquire) > 0 && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        let mut s = sh.lock();
        while s.running > 0 || s.next < s.parts {
            s = sh.done.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.job = None;
        if std::mem::take(&mut s.panicked) {
            drop(s);
            panic!("a part of a parallel job panicked");
        }
    }
}

/// A worker: waits for a new epoch (spinning, then sleeping), works, repeats.
fn worker(sh: &Shared) {
    let mut seen = sh.epoch.load(Ordering::Acquire);
    loop {
        let start = Instant::now();
        while sh.epoch.load(Ordering::Acquire) == seen && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        if sh.epoch.load(Ordering::Acquire) == seen {
            let mut s = sh.lock();
            sh.sleeping.fetch_add(1, Ordering::SeqCst);
            while sh.epoch.load(Ordering::SeqCst) == seen && !s.stop {
                s = sh
                    .wake
                    .wait_timeout(s, Duration::from_millis(50))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            sh.sleeping.fetch_sub(1, Ordering::SeqCst);
            if s.stop {
                return;
            }
        }
        seen = sh.epoch.load(Ordering::Acquire);
        if sh.lock().stop {
            return;
        }
        sh.work();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.epoch.fetch_add(1, Ordering::Release);
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Splits `0..len` into `parts` contiguous ranges as even as possible, aligned to `align`
/// (except the end), written to `bounds[..=parts]`; returns the number of non-empty parts.
pub fn even_bounds(len: usize, parts: usize, align: usize, bounds: &mut [usize]) -> usize {
    let parts = parts.clamp(1, bounds.len().saturating_sub(1).max(1));
    let align = align.max(1);
    let units = len.div_ceil(align);
    let mut n = 0;
    bounds[0] = 0;
    for i in 1..=parts {
        let b = (units * i / parts * align).min(len);
        if b > bounds[n] {
            n += 1;
            bounds[n] = b;
        }
    }
    n
}

/// The rows of part `i` when `bounds` (in floats) split rows of `row_len` floats.
pub fn rows_of(bounds: &[usize], i: usize, row_len: usize) -> Range<usize> {
    bounds[i] / row_len..bounds[i + 1] / row_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
    fn every_part_runs_once_on_its_own_chunk() {
        for threads in [1, 2, 3, 8] {
            let pool = ThreadPool::new(threads).unwrap();
            for len in [0usize, 1, 5, 64, 1000] {
                let mut data = vec![0.0f32; len];
                let mut bounds = [0usize; MAX_THREADS + 1];
                let n = even_bounds(len, threads, 4, &mut bounds);
                for round in 0..50 {
                    pool.split_mut(&mut data, &bounds[..=n], |i, chunk| {
                        for v in chunk.iter_mut() {
                            *v += 1.0 + i as f32 * 0.0;
                        }
                    });
                    assert!(
                        data.iter().all(|&v| v == (round + 1) as f32),
                        "{threads} {len}"
                    );
                }
            }
        }
    }

    #[test]
    #[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
    fn for_each_mut_gives_every_item_to_one_part() {
        let pool = ThreadPool::new(3).unwrap();
        let mut items: Vec<Vec<u32>> = (0..5).map(|_| Vec::with_capacity(100)).collect();
        for round in 0..100u32 {
            pool.for_each_mut(&mut items, |i, v| v.push(round * 10 + i as u32));
        }
        for (i, v) in items.iter().enumerate() {
            assert_eq!(v.len(), 100);
            assert!(
                v.iter()
                    .enumerate()
                    .all(|(r, &x)| x == r as u32 * 10 + i as u32)
            );
        }
    }

    #[test]
    #[cfg(target_os = "wasi")]
    fn without_threads_one_way_runs_on_the_caller_and_more_is_an_error() {
        assert!(ThreadPool::new(2).is_err());
        let pool = ThreadPool::new(1).unwrap();
        let mut data = vec![0.0f32; 8];
        pool.split_mut(&mut data, &[0, 8], |_, c| c.fill(3.0));
        assert!(data.iter().all(|&v| v == 3.0));
    }

    #[test]
    fn even_bounds_cover_and_align() {
        let mut b = [0usize; 9];
        let n = even_bounds(100, 3, 8, &mut b);
        assert_eq!(&b[..=n], &[0, 32, 64, 100]);
        let n = even_bounds(5, 8, 4, &mut b);
        assert_eq!(&b[..=n], &[0, 4, 5]);
        assert_eq!(even_bounds(0, 4, 1, &mut b), 0);
    }

    #[test]
    #[cfg_attr(
        target_os = "wasi",
        ignore = "no threads, and panics abort on wasm32-wasip1"
    )]
    fn a_panicking_part_reaches_the_caller_and_the_pool_survives() {
        let pool = ThreadPool::new(2).unwrap();
        let mut data = vec![0.0f32; 8];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.split_mut(&mut data, &[0, 4, 8], |i, _| assert!(i == 0, "part {i}"));
        }));
        assert!(r.is_err());
        pool.split_mut(&mut data, &[0, 4, 8], |_, c| c.fill(2.0));
        assert!(data.iter().all(|&v| v == 2.0));
    }

    #[test]
    #[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
    fn concurrent_callers_share_one_pool() {
        let pool = ThreadPool::new(2).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let pool = &pool;
                s.spawn(move || {
                    let mut data = vec![0.0f32; 64];
                    for _ in 0..200 {
                        pool.split_mut(&mut data, &[0, 32, 64], |_, c| {
                            c.iter_mut().for_each(|v| *v += t as f32)
                        });
                    }
                    assert!(data.iter().all(|&v| v == 200.0 * t as f32));
                });
            }
        });
    }

    #[test]
    #[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
    fn idle_workers_sleep_and_wake() {
        let pool = ThreadPool::new(2).unwrap();
        let mut data = vec![0.0f32; 10];
        std::thread::sleep(Duration::from_millis(5));
        pool.split_mut(&mut data, &[0, 5, 10], |i, c| c.fill(i as f32));
        assert_eq!(&data[..], &[0., 0., 0., 0., 0., 1., 1., 1., 1., 1.]);
    }
}
