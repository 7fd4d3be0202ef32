//! Embedding files: `.npy` (float32 `[N, D]`, little-endian, with the paths one per line in
//! the same name + `.txt`) and JSON lines (`{"path", "model", "embedding"}` per line).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::CliResult;

fn io_err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// The `.txt` file holding the paths of an `.npy` index.
fn paths_file(npy: &Path) -> PathBuf {
    let mut p = npy.as_os_str().to_owned();
    p.push(".txt");
    PathBuf::from(p)
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Writes JSON lines.
pub fn write_jsonl(
    out: &mut dyn Write,
    paths: &[PathBuf],
    vectors: &[Vec<f32>],
    model: &str,
) -> CliResult {
    for (p, v) in paths.iter().zip(vectors) {
        // Written field by field so that `path` comes first (serde_json sorts object keys).
        let (path, model, v) = (json!(p.display().to_string()), json!(model), json!(v));
        writeln!(
            out,
            "{{\"path\":{path},\"model\":{model},\"embedding\":{v}}}"
        )
        .map_err(|e| format!("writing output: {e}"))?;
    }
    Ok(())
}

/// Writes `vectors` to `out` as `.npy` (+ `.txt`) or `.jsonl`, by extension.
pub fn write(
    out: &Path,
    paths: &[PathBuf],
    vectors: &[Vec<f32>],
    dim: usize,
    model: &str,
) -> CliResult {
    let file = File::create(out).map_err(|e| io_err(out, e))?;
    let mut w = BufWriter::new(file);
    if is_npy(out) {
        let header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {dim}), }}",
            vectors.len()
        );
        // Magic (6) + version (2) + length (2) + header + padding + '\n' ≡ 0 (mod 64).
        let pad = 63 - (10 + header.len()) % 64;
        let header = format!("{header}{}\n", " ".repeat(pad));
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in vectors {
            bytes.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        }
        w.write_all(&bytes).map_err(|e| io_err(out, e))?;
        let txt = paths_file(out);
        let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
        std::fs::write(&txt, list).map_err(|e| io_err(&txt, e))?;
    } else {
        write_jsonl(&mut w, paths, vectors, model)?;
    }
    w.flush().map_err(|e| io_err(out, e))
}

/// An index read back: paths and row-major vectors of `dim` values.
pub struct Index {
    /// Image paths.
    pub paths: Vec<String>,
    /// `paths.len() · dim` values.
    pub vectors: Vec<f32>,
    /// Values per vector.
    pub dim: usize,
}

/// Reads an index written by [`write`](fn@write).
pub fn read(path: &Path) -> CliResult<Index> {
    if is_npy(path) {
        read_npy(path)
    } else {
        read_jsonl(path)
    }
}

fn read_npy(path: &Path) -> CliResult<Index> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let bad = |m: &str| io_err(path, format!("not an rvcnn .npy file: {m}"));
    if bytes.len() < 10 || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return Err(bad("bad magic"));
    }
    let hlen = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = bytes
        .get(10..10 + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("bad header"))?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad(
            "only little-endian float32 C-order arrays are supported",
        ));
    }
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<CliResult<_>>()?;
    let [n, dim] = dims[..] else {
        return Err(bad("not a 2-d array"));
    };
    let data = &bytes[10 + hlen..];
    if Some(data.len()) != n.checked_mul(dim).and_then(|v| v.checked_mul(4)) {
        return Err(bad("data length does not match the shape"));
    }
    let vectors = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let txt = paths_file(path);
    let list = std::fs::read_to_string(&txt).map_err(|e| io_err(&txt, e))?;
    let paths: Vec<String> = list.lines().map(str::to_string).collect();
    if paths.len() != n {
        return Err(io_err(
            &txt,
            format!("{} paths for {n} vectors", paths.len()),
        ));
    }
    Ok(Index {
        paths,
        vectors,
        dim,
    })
}

fn read_jsonl(path: &Path) -> CliResult<Index> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut index = Index {
        paths: Vec::new(),
        vectors: Vec::new(),
        dim: 0,
    };
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io_err(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: &str| io_err(path, format!("line {}: {m}", i + 1));
        let v: Value = serde_json::from_str(&line).map_err(|e| at(&e.to_string()))?;
        let p = v["path"].as_str().ok_or_else(|| at("no \"path\""))?;
        let e = v["embedding"]
            .as_array()
            .ok_or_else(|| at("no \"embedding\""))?;
        if index.paths.is_empty() {
            index.dim = e.len();
        } else if e.len() != index.dim {
            return Err(at(&format!(
                "embedding has {} values, earlier ones {}",
                e.len(),
                index.dim
            )));
        }
        for x in e {
            index
                .vectors
                .push(x.as_f64().ok_or_else(|| at("non-numeric value"))? as f32);
        }
        index.paths.push(p.to_string());
    }
    if index.paths.is_empty() {
        return Err(io_err(path, "empty index"));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_and_jsonl_round_trip() {
        let dir = std::env::temp_dir().join(format!("rvcnn-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = vec![PathBuf::from("a.png"), PathBuf::from("dir/b c.jpg")];
        let vectors = vec![vec![1.0, -2.5, 3.25], vec![0.5, 0.0, -1.0e-7]];
        for name in ["x.npy", "x.jsonl"] {
            let f = dir.join(name);
            write(&f, &paths, &vectors, 3, "m").unwrap();
            let idx = read(&f).unwrap();
            assert_eq!(idx.dim, 3);
            assert_eq!(idx.paths, vec!["a.png", "dir/b c.jpg"]);
            assert_eq!(idx.vectors, vectors.concat());
        }
        let npy = std::fs::read(dir.join("x.npy")).unwrap();
        assert_eq!(
            (10 + usize::from(u16::from_le_bytes([npy[8], npy[9]]))) % 64,
            0
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
