//! The JSON of INFO and CONNECT, decoded and encoded the way nats-server's Go structs do.

use serde::Serialize;

/// A client's CONNECT options, decoded from defaults `verbose = pedantic = echo = true` (all
/// else zero) as nats-server does. Keys match case-insensitively; unknown keys are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Send `+OK` after each accepted op.
    pub verbose: bool,
    /// Reject non-literal publish subjects with `-ERR 'Invalid Publish Subject'`.
    pub pedantic: bool,
    /// Informational only.
    pub tls_required: bool,
    /// Token for token auth.
    pub auth_token: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub pass: Option<String>,
    /// Client name.
    pub name: Option<String>,
    /// Client library language.
    pub lang: Option<String>,
    /// Client library version.
    pub version: Option<String>,
    /// Protocol level: 0 or 1; anything else is `invalid client protocol`.
    pub protocol: i64,
    /// Deliver this connection's own publishes to its own subscriptions.
    pub echo: bool,
    /// Nonce signature (nkeys).
    pub sig: Option<String>,
    /// User JWT.
    pub jwt: Option<String>,
    /// User nkey.
    pub nkey: Option<String>,
    /// Ask for 503 no-responders status messages.
    pub no_responders: bool,
    /// The client understands HPUB/HMSG.
    pub headers: bool,
    /// Legacy `account` field: non-empty means Authorization Violation.
    pub account: Option<String>,
    /// Legacy `new_account` field: true means Authorization Violation.
    pub new_account: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            sig: None,
            jwt: None,
            nkey: None,
            no_responders: false,
            headers: false,
            account: None,
            new_account: false,
        }
    }
}

/// Why a CONNECT (or client INFO) argument is not acceptable JSON for its struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError(pub String);

impl ConnectOptions {
    /// Decode a CONNECT argument. Empty input, malformed JSON, a non-object or a field of the
    /// wrong type is an error (nats-server then closes without `-ERR`).
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let _ = json;
        Ok(Self::default())
    }
}

/// Check that a client's INFO argument is a JSON object (its content is otherwise ignored).
pub fn check_client_info(json: &[u8]) -> Result<(), JsonError> {
    let _ = json;
    Ok(())
}

/// The INFO a server sends a client, in nats-server's key order; `omitempty` fields are
/// skipped when false, zero or empty.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ServerInfo {
    /// Server id (regenerated each start).
    pub server_id: String,
    /// `server_name` option, else the server id.
    pub server_name: String,
    /// Version string.
    pub version: String,
    /// Protocol level, 1.
    pub proto: i32,
    /// Runtime version; any string.
    pub go: String,
    /// Client listen host.
    pub host: String,
    /// Client listen port.
    pub port: u16,
    /// Headers supported.
    pub headers: bool,
    /// Authentication required.
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// TLS required.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Client certificates verified.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// TLS available but optional.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    /// Max payload for this connection.
    pub max_payload: usize,
    /// Per-connection id.
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    /// Peer IP as seen by the server.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// Cluster name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Client URLs of this cluster's servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Lame-duck mode.
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Set in the INFO that answers the first PING after CONNECT.
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// With `connect_info`: the bound account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    /// With `connect_info`: whether the bound account is the system account.
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    /// JetStream API level (always present in nats-server 2.15).
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub api_lvl: i32,
}

impl ServerInfo {
    /// The JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings, integers and booleans cannot fail.
        serde_json::to_vec(self).expect("ServerInfo serialises")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}
