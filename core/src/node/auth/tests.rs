use super::*;

fn opts(user: Option<&str>, pass: Option<&str>, token: Option<&str>) -> ConnectOptions {
    ConnectOptions {
        user: user.map(Into::into),
        pass: pass.map(Into::into),
        auth_token: token.map(Into::into),
        ..Default::default()
    }
}

fn attempt(o: &ConnectOptions) -> Attempt<'_> {
    Attempt {
        opts: o,
        nonce: "",
        tls_peer: None,
        tls_map: false,
        no_auth_user: None,
        verified_hash: None,
    }
}

fn user(name: &str, password: &str, account: Option<&str>) -> User {
    User {
        user: name.into(),
        password: password.into(),
        account: account.map(Into::into),
        ..User::default()
    }
}

fn nkey_user(key: &str) -> User {
    User { user: key.into(), nkey: true, ..User::default() }
}

fn account_of(r: Result<Login, ()>) -> Result<Option<String>, ()> {
    r.map(|l| l.account.map(|a| a.to_string()))
}

#[test]
fn user_password() {
    let a = Auth::UserPassword { user: "a".into(), password: "b".into() };
    assert!(a.required());
    assert_eq!(account_of(a.check(&attempt(&opts(Some("a"), Some("b"), None)))), Ok(None));
    assert!(a.check(&attempt(&opts(Some("a"), Some("c"), None))).is_err());
    assert!(a.check(&attempt(&opts(None, None, None))).is_err());
    assert!(a.check(&attempt(&opts(Some("x"), Some("b"), None))).is_err());
}

#[test]
fn token() {
    let a = Auth::Token("s3cret".into());
    assert!(a.check(&attempt(&opts(None, None, Some("s3cret")))).is_ok());
    assert!(a.check(&attempt(&opts(None, None, Some("s3cre")))).is_err());
}

#[test]
fn bcrypt_token_is_compared_by_bcrypt() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let a = Auth::Token(hash.clone());
    let ok = a.check(&attempt(&opts(None, None, Some("s3cret")))).unwrap();
    assert!(ok.slow.unwrap().verify());
    let hash_as_token = a.check(&attempt(&opts(None, None, Some(&hash)))).unwrap();
    assert!(!hash_as_token.slow.unwrap().verify());
}

#[test]
fn users_bind_accounts() {
    let a = Auth::Users(vec![user("x", "1", Some("A")), user("y", "2", None)]);
    assert_eq!(
        account_of(a.check(&attempt(&opts(Some("x"), Some("1"), None)))),
        Ok(Some("A".into()))
    );
    assert_eq!(account_of(a.check(&attempt(&opts(Some("y"), Some("2"), None)))), Ok(None));
    assert!(a.check(&attempt(&opts(Some("x"), Some("2"), None))).is_err());
    assert!(a.check(&attempt(&opts(Some("z"), Some("1"), None))).is_err());
    assert!(a.check(&attempt(&opts(None, None, None))).is_err());
}

#[test]
fn nkey_users_need_a_signature_of_the_nonce() {
    let kp = nkeys::KeyPair::new_user();
    let pk = kp.public_key();
    let a = Auth::Users(vec![nkey_user(&pk), user("p", "w", None)]);
    assert!(a.needs_nonce());
    let nonce = "0123456789abcde";
    let sig = |n: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(n.as_bytes()).unwrap())
    };
    let with = |nkey: Option<&str>, s: Option<String>| ConnectOptions {
        nkey: nkey.map(Into::into),
        sig: s,
        ..Default::default()
    };
    let check = |o: &ConnectOptions| a.check(&Attempt { nonce, ..attempt(o) });
    assert!(check(&with(Some(&pk), Some(sig(nonce)))).is_ok());
    // Every bypass seen in the wild: nothing, a junk signature, another nonce's signature,
    // empty credentials, any token, an unknown key.
    assert!(check(&with(None, None)).is_err());
    assert!(check(&with(Some(&pk), None)).is_err());
    assert!(check(&with(Some(&pk), Some("junk".into()))).is_err());
    assert!(check(&with(Some(&pk), Some(sig("another nonce!!")))).is_err());
    assert!(check(&opts(Some(""), Some(""), None)).is_err());
    assert!(check(&opts(None, None, Some("anything"))).is_err());
    let other = nkeys::KeyPair::new_user();
    let forged = ConnectOptions {
        nkey: Some(other.public_key()),
        sig: Some({
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(other.sign(nonce.as_bytes()).unwrap())
        }),
        ..Default::default()
    };
    assert!(check(&forged).is_err());
    // Password users beside nkey users still log in with their password.
    assert!(check(&opts(Some("p"), Some("w"), None)).is_ok());
}

#[test]
fn no_auth_user_logs_in_clients_without_credentials() {
    let a = Auth::Users(vec![user("anon", "pw", Some("A")), user("b", "2", None)]);
    let none = opts(None, None, None);
    let r = a.check(&Attempt { no_auth_user: Some("anon"), ..attempt(&none) });
    assert_eq!(account_of(r), Ok(Some("A".into())));
    // Credentials given are checked as usual.
    let wrong = opts(Some("b"), Some("x"), None);
    assert!(a.check(&Attempt { no_auth_user: Some("anon"), ..attempt(&wrong) }).is_err());
    assert!(a.no_auth_password_user(Some("anon")));
    assert!(!a.no_auth_password_user(Some("ghost")));
}

#[test]
fn connection_types_other_than_standard_cannot_log_in() {
    let mut ws = user("w", "1", None);
    ws.connection_types = vec!["WEBSOCKET".into()];
    let mut both = user("s", "1", None);
    both.connection_types = vec!["WEBSOCKET".into(), "STANDARD".into()];
    let a = Auth::Users(vec![ws, both]);
    assert!(a.check(&attempt(&opts(Some("w"), Some("1"), None))).is_err());
    assert!(a.check(&attempt(&opts(Some("s"), Some("1"), None))).is_ok());
}

#[test]
fn a_mapped_certificate_names_the_user_not_connect() {
    let a = Auth::Users(vec![user("CN=alice,O=Org", "", None), user("CN=bob", "", Some("B"))]);
    let alice = TlsPeer { names: vec!["CN=alice,O=Org".into()], dns_names: vec![] };
    // Claiming bob with alice's certificate logs in as alice.
    let claim_bob = opts(Some("CN=bob"), None, None);
    let r = a.check(&Attempt { tls_map: true, tls_peer: Some(&alice), ..attempt(&claim_bob) });
    assert_eq!(r.map(|l| l.user), Ok(Some(0)));
    // No certificate, or one nobody maps to: refused.
    assert!(a.check(&Attempt { tls_map: true, ..attempt(&claim_bob) }).is_err());
    let carol = TlsPeer { names: vec!["CN=carol".into()], dns_names: vec![] };
    assert!(
        a.check(&Attempt { tls_map: true, tls_peer: Some(&carol), ..attempt(&claim_bob) }).is_err()
    );
    // The parts of a distinguished name may come in another order.
    let reordered = TlsPeer { names: vec!["O=Org,CN=alice".into()], dns_names: vec![] };
    let none = opts(None, None, None);
    let r = a.check(&Attempt { tls_map: true, tls_peer: Some(&reordered), ..attempt(&none) });
    assert_eq!(r.map(|l| l.user), Ok(Some(0)));
}

#[test]
fn failure_lines_name_who_the_client_claimed_to_be() {
    assert_eq!(failure_text(&opts(Some("a"), None, None)), r#"authentication error - User "a""#);
    assert_eq!(
        failure_text(&opts(None, None, Some("t"))),
        r#"authentication error - Token "[REDACTED]""#
    );
    let nk = ConnectOptions { nkey: Some("UABC".into()), ..Default::default() };
    assert_eq!(failure_text(&nk), r#"authentication error - Nkey "UABC""#);
    assert_eq!(failure_text(&opts(None, None, None)), "authentication error");
}
