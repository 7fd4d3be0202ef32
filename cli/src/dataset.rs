//! Labelled image sets for `eval` and `train`: a folder with one sub-folder of PNG/JPEG
//! images per class, or MNIST-style IDX files (an `idx3-ubyte` image file and its
//! `idx1-ubyte` label file, uncompressed, e.g. Fashion-MNIST from
//! `tools/fetch_fashion_mnist.sh`).

use std::path::{Path, PathBuf};

use ruvector_cnn_model::{Embedder, ImageView, PixelFormat};

use crate::embed::embed_with;
use crate::{CliResult, files};

/// Where a labelled image set comes from (`eval`, `train`).
#[derive(clap::Args)]
pub struct DataArgs {
    /// Folder with one sub-folder of images per class, or an IDX image file (with --labels).
    #[arg(required_unless_present = "data_flag", conflicts_with = "data_flag")]
    pub data: Option<PathBuf>,
    /// The same as the positional DATA.
    #[arg(long = "data", value_name = "DATA", id = "data_flag")]
    pub data_flag: Option<PathBuf>,
    /// The IDX label file of an IDX image file.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Use at most this many images of each class (the first ones).
    #[arg(long, value_name = "N")]
    pub per_class: Option<usize>,
}

impl DataArgs {
    /// The data path (positional or `--data`).
    pub fn path(&self) -> CliResult<&Path> {
        self.data
            .as_deref()
            .or(self.data_flag.as_deref())
            .ok_or_else(|| "give the images as DATA or --data".to_string())
    }

    /// Loads the set.
    pub fn load(&self) -> CliResult<Dataset> {
        Dataset::load(self.path()?, self.labels.as_deref(), self.per_class)
    }
}

/// Where the images are.
enum Source {
    /// One file per image.
    Files(Vec<PathBuf>),
    /// Gray images of `rows × cols` bytes, back to back.
    Idx {
        pixels: Vec<u8>,
        rows: usize,
        cols: usize,
    },
}

/// A labelled image set.
pub struct Dataset {
    source: Source,
    /// Class index of each image.
    labels: Vec<u32>,
    /// Class names (folder names, or the IDX label values).
    pub class_names: Vec<String>,
}

/// The big-endian `u32` at `at`.
fn be32(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Parses an IDX file of unsigned bytes with `dims` dimensions: returns the dimensions and
/// the data.
fn parse_idx(bytes: &[u8], dims: usize, what: &Path) -> CliResult<(Vec<usize>, Vec<u8>)> {
    let bad = |m: String| format!("{}: not an IDX {dims}-d ubyte file: {m}", what.display());
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("bad magic".into()));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "element type 0x{:02x}, only 0x08 (ubyte)",
            bytes[2]
        )));
    }
    if usize::from(bytes[3]) != dims {
        return Err(bad(format!("{} dimensions", bytes[3])));
    }
    let shape: Vec<usize> = (0..dims)
        .map(|i| be32(bytes, 4 + 4 * i).ok_or_else(|| bad("truncated header".into())))
        .collect::<CliResult<_>>()?;
    let len = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("size overflows".into()))?;
    let start = 4 + 4 * dims;
    let data = bytes.get(start..start + len).ok_or_else(|| {
        bad(format!(
            "{} data bytes, header says {len}",
            bytes.len() - start
        ))
    })?;
    Ok((shape, data.to_vec()))
}

/// `(class, path)` of every image under the class folders of `dir`, classes sorted.
fn labelled(dir: &Path) -> CliResult<Vec<(String, PathBuf)>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    let mut out = Vec::new();
    for c in classes {
        let name = c
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for p in files::collect(std::slice::from_ref(&c))? {
            out.push((name.clone(), p));
        }
    }
    Ok(out)
}

impl Dataset {
    /// Loads `data` (a class folder, or an IDX image file with `labels`), keeping at most
    /// `per_class` images of each class (the first ones, in file order).
    pub fn load(data: &Path, labels: Option<&Path>, per_class: Option<usize>) -> CliResult<Self> {
        let mut set = if data.is_dir() {
            if labels.is_some() {
                return Err("--labels is for IDX image files, not class folders".into());
            }
            let mut items = labelled(data)?;
            if items.is_empty() {
                // No class folders: the images themselves, as one class (SimCLR needs no labels).
                items = files::collect(&[data.to_path_buf()])?
                    .into_iter()
                    .map(|p| (String::new(), p))
                    .collect();
            }
            let mut class_names: Vec<String> = items.iter().map(|(c, _)| c.clone()).collect();
            class_names.dedup();
            let labels = items
                .iter()
                .map(|(c, _)| class_names.iter().position(|n| n == c).unwrap_or(0) as u32)
                .collect();
            let paths = items.into_iter().map(|(_, p)| p).collect();
            Dataset {
                source: Source::Files(paths),
                labels,
                class_names,
            }
        } else {
            let label_path = labels.ok_or_else(|| {
                format!(
                    "{}: not a folder; an IDX image file needs --labels <idx1-ubyte file>",
                    data.display()
                )
            })?;
            let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            let (shape, pixels) = parse_idx(&read(data)?, 3, data)?;
            let (lshape, ls) = parse_idx(&read(label_path)?, 1, label_path)?;
            if lshape[0] != shape[0] {
                return Err(format!("{} images but {} labels", shape[0], lshape[0]));
            }
            let mut values: Vec<u8> = ls.clone();
            values.sort_unstable();
            values.dedup();
            Dataset {
                source: Source::Idx {
                    pixels,
                    rows: shape[1],
                    cols: shape[2],
                },
                labels: ls.iter().map(|&l| u32::from(l)).collect(),
                class_names: values.iter().map(u8::to_string).collect(),
            }
        };
        if let Some(k) = per_class {
            set.keep_per_class(k);
        }
        if set.labels.is_empty() {
            return Err(format!("no images in {}", data.display()));
        }
        Ok(set)
    }

    /// Keeps the first `k` images of each class.
    fn keep_per_class(&mut self, k: usize) {
        let mut seen = vec![0usize; self.class_names.len().max(256)];
        let keep: Vec<usize> = (0..self.labels.len())
            .filter(|&i| {
                let c = self.labels[i] as usize;
                seen[c] += 1;
                seen[c] <= k
            })
            .collect();
        self.labels = keep.iter().map(|&i| self.labels[i]).collect();
        self.source = match std::mem::replace(&mut self.source, Source::Files(Vec::new())) {
            Source::Files(p) => Source::Files(keep.iter().map(|&i| p[i].clone()).collect()),
            Source::Idx { pixels, rows, cols } => Source::Idx {
                pixels: keep
                    .iter()
                    .flat_map(|&i| {
                        pixels[i * rows * cols..(i + 1) * rows * cols]
                            .iter()
                            .copied()
                    })
                    .collect(),
                rows,
                cols,
            },
        };
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Class index of each image.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The image files, for the calibration of INT8 models (none for IDX data).
    pub fn paths(&self) -> &[PathBuf] {
        match &self.source {
            Source::Files(p) => p,
            Source::Idx { .. } => &[],
        }
    }

    /// Runs `f` on image `i` (decoded from its file, or a view of the IDX data).
    pub fn with_image<T>(
        &self,
        i: usize,
        f: impl FnOnce(&ImageView<'_>) -> CliResult<T>,
    ) -> CliResult<T> {
        match &self.source {
            Source::Files(paths) => files::decode(&paths[i])
                .and_then(|img| f(&img.view()?))
                .map_err(|e| format!("{}: {e}", paths[i].display())),
            Source::Idx { pixels, rows, cols } => {
                let n = rows * cols;
                let v = ImageView::packed(
                    &pixels[i * n..(i + 1) * n],
                    *cols,
                    *rows,
                    PixelFormat::Gray8,
                )
                .map_err(|e| format!("image {i}: {e}"))?;
                f(&v)
            }
        }
    }

    /// Embeds every image on `threads` workers with progress; images that fail (unreadable
    /// files) are reported and dropped. Returns the labels and vectors of the rest.
    pub fn embed(&self, embedder: &Embedder, threads: usize) -> (Vec<u32>, Vec<Vec<f32>>) {
        let results = embed_with(self.len(), threads, |i| {
            self.with_image(i, |v| embedder.embed(v).map_err(|e| e.to_string()))
        });
        let mut labels = Vec::new();
        let mut vectors = Vec::new();
        for (r, &l) in results.into_iter().zip(&self.labels) {
            match r {
                Ok(v) => {
                    labels.push(l);
                    vectors.push(v);
                }
                Err(e) => eprintln!("rvcnn: skipping {e}"),
            }
        }
        (labels, vectors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    #[test]
    fn idx_files_parse_and_bad_ones_are_errors() {
        let p = Path::new("x");
        let (shape, data) = parse_idx(&idx(&[2, 1, 3], &[1, 2, 3, 4, 5, 6]), 3, p).unwrap();
        assert_eq!((shape, data), (vec![2, 1, 3], vec![1, 2, 3, 4, 5, 6]));
        assert!(
            parse_idx(&idx(&[2, 1, 3], &[1, 2, 3]), 3, p)
                .unwrap_err()
                .contains("data bytes")
        );
        assert!(
            parse_idx(&idx(&[2], &[1, 2]), 3, p)
                .unwrap_err()
                .contains("dimensions")
        );
        assert!(parse_idx(&[0, 0, 8], 1, p).unwrap_err().contains("magic"));
        assert!(
            parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0], 1, p)
                .unwrap_err()
                .contains("element")
        );
        assert!(
            parse_idx(&[0, 0, 8, 3, 0, 0], 3, p)
                .unwrap_err()
                .contains("truncated")
        );
        let huge = idx(&[u32::MAX, u32::MAX, u32::MAX], &[]);
        assert!(parse_idx(&huge, 3, p).is_err());
    }
}
