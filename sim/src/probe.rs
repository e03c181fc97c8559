//! Liveness probes: after the last heal, one probe client per cluster subscribes to
//! `probe.<its cluster>` and keeps publishing to `probe.<c>` for every other cluster `c`,
//! so the checker sees, from outside the servers, when each gateway path carries traffic again.

use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use strait_core::proto::from_server::{Limits, Parser, ServerOp};
use strait_net::tls::{self, Joined, TlsState};
use strait_net::transport::Connection;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep, timeout};
use turmoil::net::TcpStream;

use crate::invariants::Shared;
use crate::topology::{ACCOUNTS, CLIENT_PORT};
use crate::transport::SimConn;

/// Period of the probe publications.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);

/// The turmoil host that runs every cluster's probe (and the final audit).
pub const OBSERVER_HOST: &str = "observer";

/// Where a probe connects and how it logs in.
#[derive(Clone, Debug)]
pub struct Via {
    /// Server host.
    pub host: String,
    /// Its client port.
    pub port: u16,
    /// How it logs in, if the server wants credentials.
    pub login: Option<Login>,
    /// TLS after the server's plaintext INFO, as a NATS client does when the server requires
    /// it: the configuration to handshake with and the name to verify.
    pub tls: Option<(Arc<TlsState>, String)>,
}

/// Credentials a probe logs in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// A user name and its password.
    User(String, String),
    /// A shared token (`auth_token`).
    Token(String),
}

impl Via {
    /// A server of the seeded suites: [`CLIENT_PORT`], the first account's user.
    pub fn sim_server(host: String) -> Self {
        let (_, user, pass) = ACCOUNTS[0];
        let login = Some(Login::User(user.to_owned(), pass.to_owned()));
        Self { host, port: CLIENT_PORT, login, tls: None }
    }
}

/// Probe from cluster `cluster` (of `clusters`) through `server` between `from` and `until`,
/// reporting each arrival to the checker.
pub async fn run(
    cluster: usize,
    clusters: usize,
    server: String,
    from: Duration,
    until: Duration,
    shared: Shared,
) -> turmoil::Result {
    let checker = shared.clone();
    let arrived = move |_, from, _| checker.borrow_mut().probe_arrived(from, cluster);
    run_with(cluster, clusters, Via::sim_server(server), (from, until), shared, arrived).await
}

/// [`run`], handing each arrival (its time, the publishing cluster and the publication's
/// number) to `arrived`.
///
/// Each round of publications is numbered from 1 (one number for the whole round, every
/// connection of the probe counting on), so a receiver can tell a duplicate (a number it saw
/// from that publisher before) from a reordering (a number lower than one it saw).
pub async fn run_with(
    cluster: usize,
    clusters: usize,
    via: Via,
    (from, until): (Duration, Duration),
    shared: Shared,
    mut arrived: impl FnMut(Duration, usize, u64),
) -> turmoil::Result {
    let now = || shared.borrow().now();
    sleep(from.saturating_sub(now())).await;
    let login = match &via.login {
        Some(Login::User(user, pass)) => format!("\"user\":\"{user}\",\"pass\":\"{pass}\","),
        Some(Login::Token(token)) => format!("\"auth_token\":\"{token}\","),
        None => String::new(),
    };
    let mut round: u64 = 0;
    // Bounded by `until`: every iteration sleeps or waits at most until then.
    while now() < until {
        let Some((mut rd, mut wr)) = connect(&via).await else {
            sleep(PROBE_EVERY).await;
            continue;
        };
        let mut out = BytesMut::new();
        let _ = write!(
            out,
            "CONNECT {{\"verbose\":false,{login}\"name\":\"probe{cluster}\",\"protocol\":1}}\r\nSUB probe.{cluster} 1\r\n"
        );
        let mut buf = BytesMut::new();
        let mut parser = Parser::new(Limits::default());
        let mut next_pub = now();
        'conn: while now() < until {
            if now() >= next_pub {
                round += 1;
                for d in (0..clusters).filter(|&d| d != cluster) {
                    let body = format!("{cluster} {round}");
                    let _ = write!(out, "PUB probe.{d} {}\r\n{body}\r\n", body.len());
                }
                next_pub = now() + PROBE_EVERY;
            }
            if !out.is_empty() {
                if wr.write_all(&out).await.is_err() {
                    break 'conn;
                }
                out.clear();
            }
            let wait = next_pub.min(until).saturating_sub(now());
            tokio::select! {
                biased;
                r = rd.read_buf(&mut buf) => match r {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(_) => {}
                },
                () = sleep(wait) => {}
            }
            loop {
                match parser.parse(&mut buf) {
                    Ok(Some(ServerOp::Ping)) => out.extend_from_slice(b"PONG\r\n"),
                    Ok(Some(ServerOp::Msg(m))) => {
                        if let Some((from, round)) = numbered(m.body()) {
                            arrived(now(), from, round);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'conn,
                }
            }
        }
        sleep(PROBE_EVERY.min(until.saturating_sub(now()))).await;
    }
    Ok(())
}

/// Run every probe of `probes` on the current task, until all end (the first error ends
/// all): several probes on one simulated host.
pub async fn all<F: Future<Output = turmoil::Result>>(probes: Vec<F>) -> turmoil::Result {
    let mut probes: Vec<Option<Pin<Box<F>>>> =
        probes.into_iter().map(|p| Some(Box::pin(p))).collect();
    std::future::poll_fn(|cx| {
        for slot in &mut probes {
            if let Some(Poll::Ready(r)) = slot.as_mut().map(|p| p.as_mut().poll(cx)) {
                r?;
                *slot = None;
            }
        }
        match probes.iter().all(Option::is_none) {
            true => Poll::Ready(Ok(())),
            false => Poll::Pending,
        }
    })
    .await
}

/// The publisher and round number of a probe message's body (`"FROM ROUND"`).
fn numbered(body: &[u8]) -> Option<(usize, u64)> {
    let (from, round) = std::str::from_utf8(body).ok()?.split_once(' ')?;
    Some((from.parse().ok()?, round.parse().ok()?))
}

/// The halves of a probe's connection, plaintext or TLS.
type Halves = (Box<dyn AsyncRead + Unpin>, Box<dyn AsyncWrite + Unpin>);

/// Connect to `via` (bounded by a second for TCP, and the TLS block's timeout for TLS).
async fn connect(via: &Via) -> Option<Halves> {
    let dial = TcpStream::connect((via.host.as_str(), via.port));
    let stream = timeout(Duration::from_secs(1), dial).await.ok()?.ok()?;
    let Some((state, name)) = &via.tls else {
        let (rd, wr) = stream.into_split();
        return Some((Box::new(rd), Box::new(wr)));
    };
    let (mut rd, wr) = Connection::split(SimConn(stream));
    // The plaintext INFO line comes first; TLS starts right after it.
    let mut info = Vec::new();
    let read_info = async {
        // Bounded: an INFO line longer than 64 KiB is not one.
        while !info.ends_with(b"\r\n") && info.len() < 65_536 {
            let mut byte = [0u8; 1];
            rd.read_exact(&mut byte).await.ok()?;
            info.push(byte[0]);
        }
        Some(())
    };
    timeout(state.timeout, read_info).await.ok()??;
    let conn = tls::connect::<SimConn>(Joined::new(Vec::new(), rd, wr), name, state, &[]);
    let (rd, wr) = Connection::split(conn.await.ok()?);
    Some((Box::new(rd), Box::new(wr)))
}
