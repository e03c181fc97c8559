//! `strait --help` and `strait --help_tls`: nats-server's layout, with what Strait does not do
//! marked, so an operator reads the same page and sees at once what is refused.

/// Printed (with a trailing new line) by `-h`, `--help`, `help`, and after a flag error.
pub const USAGE: &str = "
Usage: strait [options]

Flags are read as nats-server reads them (Go's flag package): `-name` and `--name` are the
same flag, values follow as `-name value` or `-name=value`, booleans take `-name=false`,
and single-letter flags do not combine (`-DV` is a flag of its own).
Flags marked * are not supported by strait: giving them anything but their default
(0, false, empty) is refused at start. Flags marked ~ are accepted and ignored.

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
  * -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to strait process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/strait.pid)
  ~     --client_advertise <string>  Client URL to advertise to other servers
  *     --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
        --logtime_utc                Timestamps in UTC instead of local timezone (strait: always UTC)
  * -s, --syslog                     Log to syslog or windows event log
  * -r, --remote_syslog <addr>       Syslog server addr (udp://localhost:514)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (traces system account as well)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (traces system account as well)
  *     --log_size_limit <limit>     Logfile size limit (default: auto)
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)

JetStream Options:
  * -js, --jetstream                 Enable JetStream functionality
  * -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster url from which members can solicit routes
                                     (strait: a cluster port is refused until routes are implemented)

Profiling Options:
  *     --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
";

/// Printed by `--help_tls`: the client TLS flags, and the cipher suites and curves a `tls {}`
/// block may name (the ones rustls implements; see net/src/tls/config.rs).
pub const TLS_USAGE: &str = "
TLS Options:
    --tls                        Enable TLS, do not verify clients
    --tlscert <file>             Server certificate file
    --tlskey <file>              Private key for server certificate
    --tlsverify                  Enable TLS, verify client certificates
    --tlscacert <file>           Client certificate CA for verification
    --tls=false                  No client TLS, even if the configuration file has a tls block

Any other --tls* flag replaces the configuration file's client `tls {}` block and then needs
--tlscert and --tlskey. For the keys of `tls {}` blocks see docs/compat.md.

Available cipher suites include:
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    TLS_AES_128_GCM_SHA256 (TLS 1.3, always enabled)
    TLS_AES_256_GCM_SHA384 (TLS 1.3, always enabled)
    TLS_CHACHA20_POLY1305_SHA256 (TLS 1.3, always enabled)

Available curve preferences include:
    X25519
    CurveP256
    CurveP384
";
