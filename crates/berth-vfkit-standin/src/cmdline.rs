//! vfkit's flags (`pkg/cmdline`, parsed by cobra/pflag) and the VM they describe
//! (`cmd/vfkit`'s `newVMConfiguration`). Errors carry vfkit's text; [`usage_error`] prints them
//! the way cobra does (`Error: ...`, the usage, and the error once more from vfkit's `main`).

use crate::config::{self, Bootloader, Device, VirtualMachine};

/// What vfkit's flags hold after parsing (`cmdline.Options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub cpus: u64,
    pub memory_mib: u64,
    pub kernel: Option<String>,
    pub kernel_cmdline: Option<String>,
    pub initrd: Option<String>,
    pub bootloader: Vec<String>,
    pub bootloader_set: bool,
    pub gui: bool,
    pub timesync: String,
    pub devices: Vec<String>,
    pub log_level: String,
    pub restful_uri: String,
    pub ignition: String,
    pub cloud_init: Vec<String>,
    pub nested: bool,
    pub pidfile: String,
    pub help: bool,
    pub version: bool,
}

/// vfkit's default `--restful-uri`: no REST service.
pub const DEFAULT_RESTFUL_URI: &str = "none://";

impl Default for Options {
    fn default() -> Self {
        Options {
            cpus: 1,
            memory_mib: 512,
            kernel: None,
            kernel_cmdline: None,
            initrd: None,
            bootloader: Vec::new(),
            bootloader_set: false,
            gui: false,
            timesync: String::new(),
            devices: Vec::new(),
            log_level: String::new(),
            restful_uri: DEFAULT_RESTFUL_URI.into(),
            ignition: String::new(),
            cloud_init: Vec::new(),
            nested: false,
            pidfile: String::new(),
            help: false,
            version: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Uint,
    Str,
    /// vfkit's `stringSliceValue` (`--bootloader`, `--cloud-init`): quote-aware comma split.
    Slice,
    /// pflag's `StringArray` (`--device`): each occurrence one value, never split.
    Array,
}

struct Flag {
    name: &'static str,
    short: Option<char>,
    kind: Kind,
    usage: &'static str,
}

const FLAGS: &[Flag] = &[
    flag(
        "bootloader",
        Some('b'),
        Kind::Slice,
        "bootloader configuration",
    ),
    flag(
        "cloud-init",
        None,
        Kind::Slice,
        "path to user-data and meta-data cloud-init configuration files",
    ),
    flag(
        "cpus",
        Some('c'),
        Kind::Uint,
        "number of virtual CPUs (default 1)",
    ),
    flag("device", Some('d'), Kind::Array, "devices"),
    flag(
        "gui",
        None,
        Kind::Bool,
        "display the contents of the virtual machine onto a graphical user interface",
    ),
    flag("help", Some('h'), Kind::Bool, "help for vfkit"),
    flag("ignition", None, Kind::Str, "path to the ignition file"),
    flag(
        "initrd",
        Some('i'),
        Kind::Str,
        "path to the virtual machine initrd",
    ),
    flag(
        "kernel",
        Some('k'),
        Kind::Str,
        "path to the virtual machine Linux kernel",
    ),
    flag(
        "kernel-cmdline",
        Some('C'),
        Kind::Str,
        "Linux kernel command line",
    ),
    flag("log-level", None, Kind::Str, "set log level"),
    flag(
        "memory",
        Some('m'),
        Kind::Uint,
        "virtual machine RAM size in mibibytes (default 512)",
    ),
    flag(
        "nested",
        Some('n'),
        Kind::Bool,
        "enable nested virtualization",
    ),
    flag("pidfile", None, Kind::Str, "path to the pid file"),
    flag(
        "restful-uri",
        None,
        Kind::Str,
        "URI address for RESTful services (default \"none://\")",
    ),
    flag(
        "timesync",
        Some('t'),
        Kind::Str,
        "sync guest time when host wakes up from sleep",
    ),
    flag("version", Some('v'), Kind::Bool, "version for vfkit"),
];

const fn flag(name: &'static str, short: Option<char>, kind: Kind, usage: &'static str) -> Flag {
    Flag {
        name,
        short,
        kind,
        usage,
    }
}

/// cobra's usage block for vfkit.
pub fn usage() -> String {
    let mut out = String::from("Usage:\n  vfkit [flags]\n\nFlags:\n");
    for f in FLAGS {
        let short = f.short.map_or("    ".to_owned(), |c| format!("-{c}, "));
        let kind = match f.kind {
            Kind::Bool => "",
            Kind::Uint => " uint",
            Kind::Str => " string",
            Kind::Slice => " stringSlice",
            Kind::Array => " stringArray",
        };
        out.push_str(&format!("  {short}--{}{kind}   {}\n", f.name, f.usage));
    }
    out
}

/// What vfkit prints on stderr for `err` (cobra's `Error:` line and usage, then `main`'s line).
pub fn usage_error(err: &str) -> String {
    format!("Error: {err}\n{}\n{err}\n", usage())
}

/// The flag's name as pflag's errors quote it: `-c, --cpus` or `--gui`.
fn display_name(f: &Flag) -> String {
    match f.short {
        Some(c) => format!("-{c}, --{}", f.name),
        None => format!("--{}", f.name),
    }
}

/// vfkit's `parseString`: split on commas outside double quotes, each item quote-trimmed.
pub fn split_quoted(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if quoted {
            if c == '"' {
                quoted = false;
            }
            current.push(c);
            continue;
        }
        match c {
            ',' => out.push(config::trim_quotes(&std::mem::take(&mut current)).to_owned()),
            '"' => {
                quoted = true;
                current.push(c);
            }
            _ => current.push(c),
        }
    }
    if quoted {
        return Err("mismatched \"".into());
    }
    let last = config::trim_quotes(&current).to_owned();
    if !out.is_empty() || !last.is_empty() {
        out.push(last);
    }
    Ok(out)
}

/// pflag's `strconv.ParseUint(s, 0, 64)`: decimal, `0x`, `0o`/`0` octal, `0b`.
fn parse_uint(s: &str) -> Result<u64, String> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (b, 2)
    } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (o, 8)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(config::go_parse_error("ParseUint", s));
    }
    u64::from_str_radix(digits, radix)
        .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(config::go_parse_error("ParseBool", s)),
    }
}

impl Options {
    fn set(&mut self, f: &Flag, value: &str) -> Result<(), String> {
        let invalid = |e: String| {
            format!(
                "invalid argument {value:?} for {:?} flag: {e}",
                display_name(f)
            )
        };
        match f.name {
            "cpus" => self.cpus = parse_uint(value).map_err(invalid)?,
            "memory" => self.memory_mib = parse_uint(value).map_err(invalid)?,
            "gui" => self.gui = parse_bool(value).map_err(invalid)?,
            "nested" => self.nested = parse_bool(value).map_err(invalid)?,
            "help" => self.help = parse_bool(value).map_err(invalid)?,
            "version" => self.version = parse_bool(value).map_err(invalid)?,
            "kernel" => self.kernel = Some(value.to_owned()),
            "kernel-cmdline" => self.kernel_cmdline = Some(value.to_owned()),
            "initrd" => self.initrd = Some(value.to_owned()),
            "bootloader" => {
                let items = split_quoted(value).map_err(invalid)?;
                self.bootloader.extend(items);
                self.bootloader_set = true;
            }
            "cloud-init" => self
                .cloud_init
                .extend(split_quoted(value).map_err(invalid)?),
            "device" => self.devices.push(value.to_owned()),
            "timesync" => self.timesync = value.to_owned(),
            "log-level" => self.log_level = value.to_owned(),
            "restful-uri" => self.restful_uri = value.to_owned(),
            "ignition" => self.ignition = value.to_owned(),
            "pidfile" => self.pidfile = value.to_owned(),
            _ => unreachable!("every flag in FLAGS is handled"),
        }
        Ok(())
    }

    /// pflag's parsing of `args` (without the program name), then cobra's flag-group checks.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Options, String> {
        let mut opts = Options::default();
        let mut changed: Vec<&'static str> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            if arg == "--" {
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                let Some(f) = FLAGS.iter().find(|f| f.name == name) else {
                    return Err(format!("unknown flag: --{name}"));
                };
                let value = match (inline, f.kind) {
                    (Some(v), _) => v.to_owned(),
                    (None, Kind::Bool) => "true".to_owned(),
                    (None, _) if i < args.len() => {
                        i += 1;
                        args[i - 1].as_ref().to_owned()
                    }
                    (None, _) => return Err(format!("flag needs an argument: --{name}")),
                };
                opts.set(f, &value)?;
                changed.push(f.name);
            } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
                let chars: Vec<char> = shorts.chars().collect();
                let mut j = 0;
                while j < chars.len() {
                    let c = chars[j];
                    let Some(f) = FLAGS.iter().find(|f| f.short == Some(c)) else {
                        return Err(format!("unknown shorthand flag: '{c}' in -{shorts}"));
                    };
                    let rest: String = chars[j + 1..].iter().collect();
                    let value = if let Some(v) = rest.strip_prefix('=') {
                        j = chars.len();
                        v.to_owned()
                    } else if f.kind == Kind::Bool {
                        j += 1;
                        "true".to_owned()
                    } else if !rest.is_empty() {
                        j = chars.len();
                        rest
                    } else if i < args.len() {
                        j = chars.len();
                        i += 1;
                        args[i - 1].as_ref().to_owned()
                    } else {
                        return Err(format!("flag needs an argument: '{c}' in -{shorts}"));
                    };
                    opts.set(f, &value)?;
                    changed.push(f.name);
                }
            }
            // Anything else is a positional argument, which vfkit's root command ignores.
        }
        if opts.help || opts.version {
            return Ok(opts);
        }
        check_groups(&changed)?;
        Ok(opts)
    }
}

/// cobra's `ValidateFlagGroups` for vfkit's groups: required-together, then mutually exclusive.
fn check_groups(changed: &[&str]) -> Result<(), String> {
    let set = |n: &str| changed.contains(&n);
    let together = ["kernel", "initrd", "kernel-cmdline"];
    if together.iter().any(|n| set(n)) {
        let mut missing: Vec<&str> = together.iter().copied().filter(|n| !set(n)).collect();
        missing.sort_unstable();
        if !missing.is_empty() {
            return Err(format!(
                "if any flags in the group [{}] are set they must all be set; missing [{}]",
                together.join(" "),
                missing.join(" ")
            ));
        }
    }
    // cobra visits the groups sorted by their key ("bootloader initrd", ...).
    for other in ["initrd", "kernel", "kernel-cmdline"] {
        if set("bootloader") && set(other) {
            let mut both = ["bootloader", other];
            both.sort_unstable();
            return Err(format!(
                "if any flags in the group [{other} bootloader] are set none of the others can be; [{}] were all set",
                both.join(" ")
            ));
        }
    }
    Ok(())
}

/// vfkit's `newVMConfiguration`: the bootloader (or the legacy `--kernel` flags), `--timesync`,
/// the devices in order.
pub fn vm_configuration(opts: &Options) -> Result<VirtualMachine, String> {
    if !opts.log_level.is_empty() && !["error", "debug", "info"].contains(&&*opts.log_level) {
        return Err(format!("unknown log level: {}", opts.log_level));
    }
    let bootloader = match (&opts.kernel, &opts.kernel_cmdline, &opts.initrd) {
        (None, None, None) => Bootloader::from_cmdline(&opts.bootloader)?,
        (k, c, i) => Bootloader::Linux {
            kernel: k.clone().unwrap_or_default(),
            initrd: i.clone().unwrap_or_default(),
            cmdline: c.clone().unwrap_or_default(),
        },
    };
    if opts.nested {
        return Err("nested virtualization is not supported".into());
    }
    let timesync_port = config::timesync(&opts.timesync)?;
    if !opts.cloud_init.is_empty() {
        return Err("the stand-in does not make cloud-init images (--cloud-init)".into());
    }
    let devices = opts
        .devices
        .iter()
        .map(|d| Device::from_cmdline(d))
        .collect::<Result<Vec<_>, _>>()?;
    if !opts.ignition.is_empty() {
        return Err("the stand-in does not serve ignition files (--ignition)".into());
    }
    Ok(VirtualMachine {
        cpus: opts.cpus,
        memory_mib: opts.memory_mib,
        bootloader,
        devices,
        timesync_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args)
    }

    #[test]
    fn long_short_and_inline_forms_are_accepted() {
        let o = parse(&[
            "--cpus",
            "4",
            "-m=4096",
            "-b",
            "linux,kernel=/k,initrd=/i,cmdline=\"console=hvc0 a=b,c\"",
            "-d",
            "virtio-rng",
            "--device=virtio-balloon",
            "--restful-uri=unix:///tmp/v.sock",
            "--gui=false",
            "-n=false",
        ])
        .unwrap();
        assert_eq!((o.cpus, o.memory_mib), (4, 4096));
        assert_eq!(
            o.bootloader,
            [
                "linux",
                "kernel=/k",
                "initrd=/i",
                "cmdline=\"console=hvc0 a=b,c\""
            ]
        );
        assert_eq!(o.devices, ["virtio-rng", "virtio-balloon"]);
        assert_eq!(o.restful_uri, "unix:///tmp/v.sock");
        assert_eq!(parse(&["-c8"]).unwrap().cpus, 8);
        assert_eq!(parse(&["--memory", "0x400"]).unwrap().memory_mib, 1024);
        assert_eq!(parse(&[]).unwrap(), Options::default());
    }

    #[test]
    fn bad_flags_get_pflags_text() {
        let cases: &[(&[&str], &str)] = &[
            (&["--gpu"], "unknown flag: --gpu"),
            (&["-x"], "unknown shorthand flag: 'x' in -x"),
            (&["--cpus"], "flag needs an argument: --cpus"),
            (&["-c"], "flag needs an argument: 'c' in -c"),
            (
                &["--cpus", "many"],
                "invalid argument \"many\" for \"-c, --cpus\" flag: strconv.ParseUint: parsing \"many\": invalid syntax",
            ),
            (
                &["--memory=-1"],
                "invalid argument \"-1\" for \"-m, --memory\" flag: strconv.ParseUint: parsing \"-1\": invalid syntax",
            ),
            (
                &["--gui=maybe"],
                "invalid argument \"maybe\" for \"--gui\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax",
            ),
            (
                &["--bootloader", "linux,cmdline=\"open"],
                "invalid argument \"linux,cmdline=\\\"open\" for \"-b, --bootloader\" flag: mismatched \"",
            ),
            (
                &["--kernel", "/k"],
                "if any flags in the group [kernel initrd kernel-cmdline] are set they must all be set; missing [initrd kernel-cmdline]",
            ),
            (
                &["--kernel", "/k", "--initrd", "/i", "-C", "x", "-b", "efi,variable-store=/s"],
                "if any flags in the group [initrd bootloader] are set none of the others can be; [bootloader initrd] were all set",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(parse(args).unwrap_err(), *want, "{args:?}");
        }
    }

    #[test]
    fn the_vm_is_built_as_vfkit_builds_it() {
        let o = parse(&[
            "--kernel",
            "/k",
            "--initrd",
            "/i",
            "--kernel-cmdline",
            "quiet",
        ])
        .unwrap();
        let vm = vm_configuration(&o).unwrap();
        assert_eq!(
            vm.bootloader,
            Bootloader::Linux {
                kernel: "/k".into(),
                initrd: "/i".into(),
                cmdline: "quiet".into()
            }
        );
        assert_eq!(
            vm_configuration(&parse(&[]).unwrap()).unwrap_err(),
            "empty option list in --bootloader command line argument"
        );
        assert_eq!(
            vm_configuration(
                &parse(&["-b", "efi,variable-store=/s", "--log-level", "trace"]).unwrap()
            )
            .unwrap_err(),
            "unknown log level: trace"
        );
        assert_eq!(
            vm_configuration(
                &parse(&["-b", "efi,variable-store=/s", "-d", "virtio-gpuu"]).unwrap()
            )
            .unwrap_err(),
            "unknown device type: virtio-gpuu"
        );
    }

    #[test]
    fn usage_errors_print_like_cobra_and_main() {
        let text = usage_error("unknown flag: --gpu");
        assert!(text.starts_with("Error: unknown flag: --gpu\nUsage:\n  vfkit [flags]\n"));
        assert!(text.ends_with("\nunknown flag: --gpu\n"));
    }
}
