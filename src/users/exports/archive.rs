//! The zip, written entry by entry as the rows arrive (a streaming zip: each
//! entry's sizes follow its data in a data descriptor, so nothing already
//! written is ever revisited), into a buffer the builder empties chunk by
//! chunk. Everything here is synchronous and CPU-bound (JSON and deflate):
//! it runs on the CPU queue's threads, never on an async worker.

use std::io::Write;
use std::sync::{Arc, Mutex};

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

/// Where the zip's bytes wait until the builder takes them.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().map_err(|_| std::io::Error::other("archive buffer lock"))?;
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct Archive {
    /// `None` once finished.
    zip: Option<ZipWriter<StreamWriter<Sink>>>,
    sink: Sink,
    /// Elements written in the current JSON array.
    elements: u64,
}

impl Archive {
    pub fn new() -> Self {
        let sink = Sink::default();
        Self { zip: Some(ZipWriter::new_stream(sink.clone())), sink, elements: 0 }
    }

    /// Starts entry `name` (deflated).
    pub fn start(&mut self, name: &str) -> anyhow::Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(0o644);
        self.zip()?.start_file(name, options)?;
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.zip()?.write_all(bytes)?;
        Ok(())
    }

    fn zip(&mut self) -> anyhow::Result<&mut ZipWriter<StreamWriter<Sink>>> {
        self.zip.as_mut().ok_or_else(|| anyhow::anyhow!("the archive is finished"))
    }

    /// Counts [`Archive::element`]s from zero again (a new list within an entry).
    pub fn begin_elements(&mut self) {
        self.elements = 0;
    }

    /// Elements written since the count began.
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Starts entry `name` holding a JSON array; [`Archive::element`] adds
    /// to it and [`Archive::end_array`] closes it.
    pub fn start_array(&mut self, name: &str) -> anyhow::Result<()> {
        self.start(name)?;
        self.elements = 0;
        self.write(b"[")
    }

    /// One element (JSON text) of the current array.
    pub fn element(&mut self, json: &str) -> anyhow::Result<()> {
        let sep: &[u8] = if self.elements == 0 { b"\n  " } else { b",\n  " };
        self.write(sep)?;
        self.write(json.as_bytes())?;
        self.elements += 1;
        Ok(())
    }

    /// Closes the current array; returns how many elements it had.
    pub fn end_array(&mut self) -> anyhow::Result<u64> {
        let end: &[u8] = if self.elements == 0 { b"]\n" } else { b"\n]\n" };
        self.write(end)?;
        Ok(self.elements)
    }

    /// Takes what was written so far, once it is at least `at_least` bytes.
    pub fn take(&self, at_least: usize) -> Option<Vec<u8>> {
        let mut bytes = self.sink.0.lock().ok()?;
        (bytes.len() >= at_least.max(1)).then(|| std::mem::take(&mut *bytes))
    }

    /// Writes the central directory; returns the bytes not yet taken.
    pub fn finish(&mut self) -> anyhow::Result<Vec<u8>> {
        let zip = self.zip.take().ok_or_else(|| anyhow::anyhow!("the archive is finished"))?;
        zip.finish()?;
        let mut bytes = self.sink.0.lock().map_err(|_| anyhow::anyhow!("archive buffer lock"))?;
        Ok(std::mem::take(&mut *bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::Archive;

    #[test]
    fn a_streamed_archive_reads_back_entry_by_entry() {
        let mut archive = Archive::new();
        let mut out = Vec::new();
        archive.start_array("list.json").unwrap();
        for n in 0..2_000 {
            archive.element(&format!("{{\"n\": {n}}}")).unwrap();
            if let Some(chunk) = archive.take(4096) {
                out.extend(chunk);
            }
        }
        assert_eq!(archive.end_array().unwrap(), 2_000);
        archive.start("one.json").unwrap();
        archive.write(b"{}").unwrap();
        out.extend(archive.finish().unwrap());
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
        let list: serde_json::Value = serde_json::from_reader(zip.by_name("list.json").unwrap()).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 2_000);
        assert_eq!(list[1999]["n"], 1999);
        let one: serde_json::Value = serde_json::from_reader(zip.by_name("one.json").unwrap()).unwrap();
        assert_eq!(one, serde_json::json!({}));
    }
}
