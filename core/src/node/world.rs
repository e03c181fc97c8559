//! Nodes wired through in-memory pipes on a fake clock, for tests of routes and gateways: a
//! dial reaches the node whose route or gateway port it names.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::gateway::{GatewayConfig, GatewayUrl, RemoteConfig};

use super::*;

/// The gateway of cluster `name` listening on loopback port `port`, with one loopback URL per
/// remote cluster in `remotes` (name, gateway port).
pub(crate) fn gateway_config(name: &str, port: u16, remotes: &[(&str, u16)]) -> GatewayConfig {
    let mut g = GatewayConfig::new(name, GatewayUrl::new("127.0.0.1", port));
    g.remotes = remotes
        .iter()
        .map(|(n, p)| RemoteConfig {
            name: (*n).into(),
            urls: vec![GatewayUrl::new("127.0.0.1", *p)],
        })
        .collect();
    g
}

/// A byte pipe between two links of two nodes.
pub(crate) struct Pipe {
    pub(crate) a: (usize, LinkId),
    pub(crate) b: (usize, LinkId),
}

/// A client attached to one node.
pub(crate) struct Client {
    pub(crate) node: usize,
    pub(crate) link: LinkId,
    pub(crate) received: String,
}

/// Nodes, the pipes between their gateway links, and their clients.
pub(crate) struct World {
    pub(crate) nodes: Vec<Node>,
    /// Gateway and route port of each node (0: none).
    pub(crate) ports: Vec<(u16, u16)>,
    pub(crate) now: Instant,
    pub(crate) pipes: Vec<Pipe>,
    pub(crate) clients: Vec<Client>,
    pub(crate) logs: Vec<(usize, String)>,
    /// Dials to a port nobody listens on fail.
    pub(crate) down: Vec<usize>,
    /// Dials to these nodes connect, but nothing the acceptor sends ever arrives (a stream
    /// wedged by a one-way partition).
    pub(crate) deaf: Vec<usize>,
    /// Every byte sent between nodes, as (from node, to node, bytes), in order.
    pub(crate) wire: Vec<(usize, usize, Vec<u8>)>,
    /// Crashed nodes: they do nothing and nobody reaches them.
    pub(crate) crashed: Vec<usize>,
}

impl World {
    pub(crate) fn new(configs: Vec<NodeConfig>) -> Self {
        let now = Instant::now();
        // Each node answers on its gateway port and its route port.
        let ports = configs
            .iter()
            .map(|c| {
                let gateway = c.gateway.as_ref().map_or(0, |g| g.advertise.port);
                let route = c.cluster.as_ref().map_or(0, |r| r.advertise.port);
                (gateway, route)
            })
            .collect();
        let mut nodes: Vec<Node> =
            configs.into_iter().enumerate().map(|(i, c)| Node::new(c, 100 + i as u64)).collect();
        for n in &mut nodes {
            n.start(now);
        }
        Self {
            nodes,
            ports,
            now,
            pipes: Vec::new(),
            clients: Vec::new(),
            logs: Vec::new(),
            down: Vec::new(),
            deaf: Vec::new(),
            wire: Vec::new(),
            crashed: Vec::new(),
        }
    }

    pub(crate) fn client(&mut self, node: usize) -> usize {
        let link = self.nodes[node].accept_client(self.now, None);
        self.clients.push(Client { node, link, received: String::new() });
        let c = self.clients.len() - 1;
        self.send(c, "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n");
        self.settle();
        self.clients[c].received.clear();
        c
    }

    pub(crate) fn send(&mut self, client: usize, data: &str) {
        let (node, link) = (self.clients[client].node, self.clients[client].link);
        let mut buf = BytesMut::from(data.as_bytes());
        self.nodes[node].handle_read(link, self.now, &mut buf);
    }

    pub(crate) fn take(&mut self, client: usize) -> String {
        self.settle();
        std::mem::take(&mut self.clients[client].received)
    }

    /// Move bytes and handle events until nothing changes (bounded).
    pub(crate) fn settle(&mut self) {
        for _ in 0..200 {
            if !self.step() {
                return;
            }
        }
        panic!("the world did not settle");
    }

    pub(crate) fn step(&mut self) -> bool {
        let mut progressed = false;
        for i in 0..self.nodes.len() {
            if self.crashed.contains(&i) {
                continue;
            }
            while let Some(e) = self.nodes[i].poll_event() {
                progressed = true;
                match e {
                    Event::Dial(d) => {
                        let route = d.kind == crate::dial::DialKind::Route;
                        let target = self
                            .ports
                            .iter()
                            .position(|&(g, r)| d.url.port == if route { r } else { g });
                        match target.filter(|t| !self.down.contains(t) && !self.crashed.contains(t))
                        {
                            Some(t) if self.deaf.contains(&t) => {
                                // Connected, but no pipe: the INFO never comes.
                                self.nodes[i].handle_dial(self.now, d.id, Ok(None)).unwrap();
                            }
                            Some(t) => {
                                // A dial the node no longer wants is dropped unanswered.
                                let Some(a) = self.nodes[i].handle_dial(self.now, d.id, Ok(None))
                                else {
                                    continue;
                                };
                                let b = if route {
                                    self.nodes[t].accept_route(self.now, None)
                                } else {
                                    self.nodes[t].accept_gateway(self.now, None)
                                };
                                self.pipes.push(Pipe { a: (i, a), b: (t, b) });
                            }
                            None => {
                                self.nodes[i].handle_dial(self.now, d.id, Err("refused".into()));
                            }
                        }
                    }
                    Event::Close { link, .. } => {
                        // Flush what is left, then the connection goes away at both ends.
                        self.pump_link(i, link);
                        if let Some(p) =
                            self.pipes.iter().position(|p| p.a == (i, link) || p.b == (i, link))
                        {
                            let p = self.pipes.remove(p);
                            self.nodes[p.a.0].handle_closed(p.a.1, self.now);
                            self.nodes[p.b.0].handle_closed(p.b.1, self.now);
                        } else {
                            self.nodes[i].handle_closed(link, self.now);
                        }
                    }
                    Event::Log(_, line) => self.logs.push((i, line)),
                    Event::Transmit(_) => {}
                }
            }
        }
        for p in 0..self.pipes.len() {
            let (a, b) = (self.pipes[p].a, self.pipes[p].b);
            progressed |= self.pump(a, b);
            progressed |= self.pump(b, a);
        }
        for c in 0..self.clients.len() {
            let (node, link) = (self.clients[c].node, self.clients[c].link);
            let mut out = BytesMut::new();
            if self.nodes[node].take_outbox(link, &mut out) != OutboxStatus::Gone && !out.is_empty()
            {
                self.clients[c].received.push_str(&String::from_utf8_lossy(&out));
                progressed = true;
            }
        }
        progressed
    }

    pub(crate) fn pump_link(&mut self, node: usize, link: LinkId) {
        if let Some(p) = self.pipes.iter().find(|p| p.a == (node, link) || p.b == (node, link)) {
            let (a, b) = (p.a, p.b);
            let (from, to) = if a == (node, link) { (a, b) } else { (b, a) };
            self.pump(from, to);
        }
    }

    pub(crate) fn pump(&mut self, from: (usize, LinkId), to: (usize, LinkId)) -> bool {
        let mut out = BytesMut::new();
        if self.nodes[from.0].take_outbox(from.1, &mut out) == OutboxStatus::Gone || out.is_empty()
        {
            return false;
        }
        self.wire.push((from.0, to.0, out.to_vec()));
        self.nodes[to.0].handle_read(to.1, self.now, &mut out);
        true
    }

    /// Node `node` crashes: its connections drop (its peers see them close) and it does
    /// nothing from now on.
    pub(crate) fn crash(&mut self, node: usize) {
        self.crashed.push(node);
        let (gone, kept) = std::mem::take(&mut self.pipes)
            .into_iter()
            .partition(|p| p.a.0 == node || p.b.0 == node);
        self.pipes = kept;
        for p in gone {
            for (n, link) in [p.a, p.b] {
                if n != node {
                    self.nodes[n].handle_closed(link, self.now);
                }
            }
        }
    }

    /// The lines node `from` sent to node `to` that start with `prefix`.
    pub(crate) fn lines_sent(&self, from: usize, to: usize, prefix: &str) -> Vec<String> {
        self.wire
            .iter()
            .filter(|(f, t, _)| (*f, *t) == (from, to))
            .flat_map(|(_, _, bytes)| {
                String::from_utf8_lossy(bytes).split("\r\n").map(str::to_owned).collect::<Vec<_>>()
            })
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// Advance the clock by `by`, firing every deadline on the way.
    pub(crate) fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            self.settle();
            let mut next = None::<Instant>;
            let alive = self.nodes.iter().enumerate().filter(|(i, _)| !self.crashed.contains(i));
            for (_, n) in alive {
                let mut deadlines: Vec<Instant> = n.poll_node_timeout().into_iter().collect();
                deadlines.extend(n.link_ids().into_iter().filter_map(|l| n.poll_timeout(l)));
                for d in deadlines {
                    next = Some(next.map_or(d, |x: Instant| x.min(d)));
                }
            }
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    for i in (0..self.nodes.len()).filter(|i| !self.crashed.contains(i)) {
                        self.nodes[i].handle_node_timeout(self.now);
                        for l in self.nodes[i].link_ids() {
                            self.nodes[i].handle_timeout(l, self.now);
                        }
                    }
                }
                _ => {
                    self.now = end;
                    self.settle();
                    return;
                }
            }
        }
    }

    pub(crate) fn registered(&self, node: usize, line: &str) -> bool {
        self.logs.iter().any(|(n, l)| *n == node && l.contains(line))
    }

    pub(crate) fn gateway(&self, node: usize) -> GatewaySnapshot {
        self.nodes[node].gateway_snapshot().unwrap()
    }
}
