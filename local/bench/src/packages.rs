//! Package sizes: cargo-lambda's arm64 zips when `scripts/build-lambdas.sh` made them,
//! and this machine's release binaries zipped here, with the architecture the
//! `bootstrap` inside each names.

use std::path::Path;
use std::process::{Command, Stdio};

use autopilot_local::harness::functions::NAMES;

use crate::bench::Bench;
use crate::error::{MeasureError, Measured};

impl Bench<'_> {
    /// cargo-lambda's zips when present, and the x86_64 release binaries zipped here.
    pub fn packages(&self) -> Vec<Package> {
        let mut packages = Vec::new();
        for function in NAMES {
            let zip = self.args.lambda_dir.join(function).join("bootstrap.zip");
            if zip.is_file() {
                packages.push(inspect_zip(function, "cargo-lambda", &zip));
            }
            let zipped = self.binary(function).and_then(|binary| {
                let folder = self.logs.path().join(format!("package-{function}"));
                std::fs::create_dir_all(&folder).map_err(MeasureError::io(&folder))?;
                let bootstrap = folder.join("bootstrap");
                std::fs::copy(&binary, &bootstrap).map_err(MeasureError::io(&bootstrap))?;
                let zip = folder.join("bootstrap.zip");
                let status = Command::new("zip")
                    .args(["-q", "-9", "-j"])
                    .arg(&zip)
                    .arg(&bootstrap)
                    .status()
                    .map_err(|e| MeasureError::binary("zip", format!("cannot run: {e}")))?;
                if status.success() {
                    Ok(zip)
                } else {
                    Err(MeasureError::binary("zip", format!("failed ({status})")))
                }
            });
            packages.push(match zipped {
                Ok(zip) => inspect_zip(function, "cargo build --release, zip -9", &zip),
                Err(error) => Package {
                    function,
                    source: "cargo build --release, zip -9",
                    figures: Err(error),
                },
            });
        }
        packages
    }
}

/// One deployment package.
pub struct Package {
    pub function: &'static str,
    pub source: &'static str,
    pub figures: Measured<PackageFigures>,
}

pub struct PackageFigures {
    pub arch: String,
    pub zip_bytes: u64,
    pub bootstrap_bytes: u64,
}

/// Size of `zip`, and the architecture and size of the `bootstrap` inside it.
fn inspect_zip(function: &'static str, source: &'static str, zip: &Path) -> Package {
    let figures = (|| {
        let zip_bytes = std::fs::metadata(zip).map_err(MeasureError::io(zip))?.len();
        let output = Command::new("unzip")
            .arg("-p")
            .arg(zip)
            .arg("bootstrap")
            .stderr(Stdio::null())
            .output()
            .map_err(|e| MeasureError::binary("unzip", format!("cannot run: {e}")))?;
        if !output.status.success() {
            return Err(MeasureError::binary(
                "unzip",
                format!("unzip -p {} bootstrap failed", zip.display()),
            ));
        }
        Ok(PackageFigures {
            arch: elf_machine(&output.stdout),
            zip_bytes,
            bootstrap_bytes: output.stdout.len() as u64,
        })
    })();
    Package {
        function,
        source,
        figures,
    }
}

/// The architecture an ELF header names.
pub fn elf_machine(bytes: &[u8]) -> String {
    if bytes.len() < 20 || !bytes.starts_with(b"\x7fELF") {
        return "not an ELF executable".into();
    }
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => "x86_64".into(),
        0xb7 => "arm64".into(),
        other => format!("ELF machine {other:#x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_headers_name_the_architecture() {
        let mut header = b"\x7fELF".to_vec();
        header.resize(20, 0);
        header[18] = 0xb7;
        assert_eq!(elf_machine(&header), "arm64");
        header[18] = 0x3e;
        assert_eq!(elf_machine(&header), "x86_64");
        assert_eq!(elf_machine(b"PK"), "not an ELF executable");
    }
}
