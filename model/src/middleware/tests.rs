//! Middleware tests: every type parses and round-trips, and every validation rule reports the
//! object, the field path and the reason.

use super::*;

fn parse(json: &str) -> Middleware {
    match serde_json::from_str(json) {
        Ok(m) => m,
        Err(e) => panic!("{json} should parse: {e}"),
    }
}

fn validate(json: &str) -> Result<(), String> {
    parse(json).validate("mw").map_err(|e| e.to_string())
}

/// One valid, fully populated example of every supported middleware type.
const VALID: &[&str] = &[
    r#"{"addPrefix":{"prefix":"/api"}}"#,
    r#"{"addPrefix":{"prefix":"api"}}"#,
    r#"{"stripPrefix":{"prefixes":["/api","/v1"],"forceSlash":false}}"#,
    r#"{"stripPrefixRegex":{"regex":["^/users/[a-z]+"]}}"#,
    r#"{"replacePath":{"path":"/new"}}"#,
    r#"{"replacePathRegex":{"regex":"^/foo/(.*)","replacement":"/bar/$1"}}"#,
    r#"{"redirectScheme":{"scheme":"https","port":"8443","permanent":true}}"#,
    r#"{"redirectRegex":{"regex":"^http://localhost/(.*)","replacement":"http://example.com/${1}","permanent":true}}"#,
    r#"{"headers":{"customRequestHeaders":{"X-Remove":"","X-Script-Name":"test"},"customResponseHeaders":{"X-Custom":"v"},"accessControlAllowCredentials":true,"accessControlAllowHeaders":["*"],"accessControlAllowMethods":["GET","OPTIONS"],"accessControlAllowOriginList":["https://a.com"],"accessControlAllowOriginListRegex":["^https://.*\\.a\\.com$"],"accessControlExposeHeaders":["X-Id"],"accessControlMaxAge":100,"addVaryHeader":true,"allowedHosts":["a.com"],"hostsProxyHeaders":["X-Forwarded-Host"],"sslProxyHeaders":{"X-Forwarded-Proto":"https"},"stsSeconds":31536000,"stsIncludeSubdomains":true,"stsPreload":true,"forceSTSHeader":true,"frameDeny":true,"customFrameOptionsValue":"SAMEORIGIN","contentTypeNosniff":true,"browserXssFilter":true,"customBrowserXSSValue":"0","contentSecurityPolicy":"default-src 'self'","contentSecurityPolicyReportOnly":"default-src 'none'","publicKey":"pin-sha256=\"x\"","referrerPolicy":"no-referrer","permissionsPolicy":"camera=()","isDevelopment":true}}"#,
    r#"{"basicAuth":{"users":["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"],"realm":"my realm","removeHeader":true,"headerField":"X-WebAuth-User"}}"#,
    r#"{"basicAuth":{"usersFile":"/etc/raftgate/htpasswd"}}"#,
    r#"{"digestAuth":{"users":["test:traefik:a2688e031edb4be6a3797f3882655c05"],"removeHeader":true}}"#,
    r#"{"forwardAuth":{"address":"http://auth.local/verify","tls":{"ca":"/ca.pem","cert":"/c.pem","key":"/k.pem","insecureSkipVerify":true},"trustForwardHeader":true,"authResponseHeaders":["X-Auth-User"],"authResponseHeadersRegex":"^X-","authRequestHeaders":["Accept","X-CustomHeader"],"addAuthCookiesToResponse":["session"],"forwardBody":true,"maxBodySize":1024,"preserveLocationHeader":true,"preserveRequestMethod":true,"headerField":"X-User"}}"#,
    r#"{"ipAllowList":{"sourceRange":["127.0.0.1/32","192.168.1.7","::1"],"ipStrategy":{"excludedIPs":["10.0.0.0/8"],"ipv6Subnet":64},"rejectStatusCode":404}}"#,
    r#"{"inFlightReq":{"amount":10,"sourceCriterion":{"ipStrategy":{"depth":2}}}}"#,
    r#"{"ipAllowList":{"sourceRange":["::1"],"ipStrategy":{"depth":1,"excludedIPs":["10.0.0.1"]}}}"#,
    r#"{"inFlightReq":{"amount":1,"sourceCriterion":{"requestHeaderName":"X-User"}}}"#,
    r#"{"buffering":{"maxRequestBodyBytes":2000000,"memRequestBodyBytes":1048576,"maxResponseBodyBytes":0,"memResponseBodyBytes":1048576,"retryExpression":"IsNetworkError() && Attempts() < 2"}}"#,
    r#"{"retry":{"attempts":4,"initialInterval":"100ms"}}"#,
    r#"{"circuitBreaker":{"expression":"LatencyAtQuantileMS(50.0) > 100 || NetworkErrorRatio() > 0.5","checkPeriod":"100ms","fallbackDuration":"10s","recoveryDuration":10,"responseCode":503}}"#,
    r#"{"compress":{"excludedContentTypes":["text/event-stream","application/grpc; charset=utf-8"],"minResponseBodyBytes":1200,"defaultEncoding":"gzip","encodings":["zstd","br","gzip"]}}"#,
    r#"{"compress":{"includedContentTypes":["text/html"]}}"#,
    r#"{"contentType":{"autoDetect":true}}"#,
    r#"{"contentType":{}}"#,
    r#"{"errors":{"status":["404","500-599"],"service":"error-pages@file","query":"/{status}.html","statusRewrites":{"418":404,"502-504":500}}}"#,
    r#"{"chain":{"middlewares":["https-only","auth@file"]}}"#,
    r#"{"grpcWeb":{"allowOrigins":["*"]}}"#,
    r#"{"grpcWeb":{"allowOrigins":["https://app.example.com:8443","http://localhost"]}}"#,
];

#[test]
fn every_valid_example_validates_and_round_trips() {
    for json in VALID {
        let m = parse(json);
        assert_eq!(validate(json), Ok(()), "{json}");
        let out = serde_json::to_string(&m).expect("serializes");
        assert_eq!(&out, json);
        let yaml = serde_yaml_ng::to_string(&m).expect("yaml");
        let back: Middleware = serde_yaml_ng::from_str(&yaml).expect("yaml parses");
        assert_eq!(back, m, "{yaml}");
    }
}

#[test]
fn type_name_matches_the_serialized_key() {
    for json in VALID {
        let m = parse(json);
        assert!(
            json.starts_with(&format!("{{\"{}\":", m.type_name())),
            "{json}"
        );
    }
    let m = parse(r#"{"passTLSClientCert":{"pem":true}}"#);
    assert_eq!(m.type_name(), "passTLSClientCert");
}

#[test]
fn unknown_type_key_is_named() {
    let err = serde_json::from_str::<Middleware>(r#"{"stripPrefixes":{"prefixes":["/a"]}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown middleware type `stripPrefixes`"),
        "{err}"
    );
}

#[test]
fn unknown_field_is_named() {
    let err = serde_json::from_str::<Middleware>(r#"{"stripPrefix":{"prefix":["/a"]}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `prefix`"), "{err}");
}

#[test]
fn yaml_form() {
    let yaml = "stripPrefix:\n  prefixes:\n  - /api\n";
    let m: Middleware = serde_yaml_ng::from_str(yaml).expect("yaml parses");
    assert_eq!(serde_yaml_ng::to_string(&m).ok().as_deref(), Some(yaml));
}

#[test]
fn unsupported_types_parse_but_do_not_validate() {
    let m = parse(
        r#"{"rateLimit":{"average":100,"period":"1m","burst":50,"sourceCriterion":{"requestHost":true}}}"#,
    );
    assert_eq!(
        m.validate("x").unwrap_err().to_string(),
        "middleware \"x\": rateLimit is not yet supported"
    );
    let json = r#"{"passTLSClientCert":{"pem":true,"info":{"notAfter":true,"sans":true,"subject":{"country":true,"organizationalUnit":true,"commonName":true},"issuer":{"domainComponent":true}}}}"#;
    let m = parse(json);
    assert_eq!(serde_json::to_string(&m).ok().as_deref(), Some(json));
    assert_eq!(
        m.validate("x").unwrap_err().to_string(),
        "middleware \"x\": passTLSClientCert is not yet supported"
    );
}

/// `(middleware, expected message after "middleware \"mw\": ")`.
const INVALID: &[(&str, &str)] = &[
    (r#"{"addPrefix":{}}"#, "addPrefix.prefix: is required"),
    (r#"{"stripPrefix":{}}"#, "stripPrefix.prefixes: at least one prefix is required"),
    (r#"{"stripPrefix":{"prefixes":["/a",""]}}"#, "stripPrefix.prefixes[1]: is required"),
    (r#"{"stripPrefixRegex":{"regex":[]}}"#, "stripPrefixRegex.regex: at least one regex is required"),
    (r#"{"stripPrefixRegex":{"regex":["/(a"]}}"#, "stripPrefixRegex.regex[0]: invalid regular expression \"/(a\": unclosed group"),
    (r#"{"replacePath":{"path":""}}"#, "replacePath.path: is required"),
    (r#"{"replacePathRegex":{"regex":"[","replacement":"/"}}"#, "replacePathRegex.regex: invalid regular expression \"[\": unclosed character class"),
    (r#"{"redirectScheme":{}}"#, "redirectScheme.scheme: is required"),
    (r#"{"redirectScheme":{"scheme":"ht tps"}}"#, "redirectScheme.scheme: \"ht tps\" is not a URL scheme"),
    (r#"{"redirectScheme":{"scheme":"https","port":"0"}}"#, "redirectScheme.port: \"0\" is not a port number (1-65535)"),
    (r#"{"redirectScheme":{"scheme":"https","port":"70000"}}"#, "redirectScheme.port: \"70000\" is not a port number (1-65535)"),
    (r#"{"redirectRegex":{"regex":"(","replacement":"x"}}"#, "redirectRegex.regex: invalid regular expression \"(\": unclosed group"),
    (r#"{"redirectRegex":{"regex":"a"}}"#, "redirectRegex.replacement: is required"),
    (r#"{"headers":{"customRequestHeaders":{"Bad Name":"v"}}}"#, "headers.customRequestHeaders[\"Bad Name\"]: \"Bad Name\" is not a valid HTTP header name"),
    (r#"{"headers":{"customResponseHeaders":{"X":"a\r\nInjected: 1"}}}"#, "headers.customResponseHeaders[\"X\"]: header values must not contain control characters"),
    (r#"{"headers":{"accessControlAllowMethods":["GET","P OST"]}}"#, "headers.accessControlAllowMethods[1]: \"P OST\" is not a valid HTTP header name"),
    (r#"{"headers":{"accessControlAllowOriginListRegex":["("]}}"#, "headers.accessControlAllowOriginListRegex[0]: invalid regular expression \"(\": unclosed group"),
    (r#"{"headers":{"stsSeconds":-1}}"#, "headers.stsSeconds: -1 must not be negative"),
    (r#"{"headers":{"accessControlMaxAge":-5}}"#, "headers.accessControlMaxAge: -5 must not be negative"),
    (r#"{"headers":{"contentSecurityPolicy":"a\nb"}}"#, "headers.contentSecurityPolicy: header values must not contain control characters"),
    (r#"{"headers":{"customResponseHeaders":{"X-Id":"1","x-id":""}}}"#, "headers.customResponseHeaders[\"x-id\"]: \"X-Id\" and \"x-id\" name the same header"),
    (r#"{"redirectRegex":{"regex":"a","replacement":"/b\u0000"}}"#, "redirectRegex.replacement: header values must not contain control characters"),
    (r#"{"basicAuth":{}}"#, "basicAuth: users or usersFile is required"),
    (r#"{"basicAuth":{"users":["ok:{SHA}9SMYoF5RilWWASry7TjeaKwmpGg=","nocolon"]}}"#, "basicAuth.users[1]: entry must look like \"user:hash\""),
    (r#"{"basicAuth":{"users":[":hash"]}}"#, "basicAuth.users[0]: entry must look like \"user:hash\""),
    (r#"{"basicAuth":{"users":["user:"]}}"#, "basicAuth.users[0]: entry must look like \"user:hash\""),
    (r#"{"basicAuth":{"users":["u:{SHA}9SMYoF5RilWWASry7TjeaKwmpGg="],"realm":"a\"b"}}"#, "basicAuth.realm: must not contain '\"' or control characters"),
    (r#"{"basicAuth":{"users":["u:{SHA}9SMYoF5RilWWASry7TjeaKwmpGg="],"headerField":"X Y"}}"#, "basicAuth.headerField: \"X Y\" is not a valid HTTP header name"),
    (r#"{"digestAuth":{"users":["user:hash"]}}"#, "digestAuth.users[0]: entry must look like \"user:realm:hash\""),
    (r#"{"forwardAuth":{}}"#, "forwardAuth.address: is required"),
    (r#"{"forwardAuth":{"address":"auth:9000"}}"#, "forwardAuth.address: \"auth:9000\": scheme must be http or https, not \"auth\""),
    (r#"{"forwardAuth":{"address":"/verify"}}"#, "forwardAuth.address: \"/verify\" is not an absolute URL: relative URL without a base"),
    (r#"{"forwardAuth":{"address":"http://a","tls":{"cert":"/c.pem"}}}"#, "forwardAuth.tls: cert and key must be given together"),
    (r#"{"forwardAuth":{"address":"http://a","authResponseHeadersRegex":"("}}"#, "forwardAuth.authResponseHeadersRegex: invalid regular expression \"(\": unclosed group"),
    (r#"{"forwardAuth":{"address":"http://a","authRequestHeaders":["a b"]}}"#, "forwardAuth.authRequestHeaders[0]: \"a b\" is not a valid HTTP header name"),
    (r#"{"forwardAuth":{"address":"http://a","addAuthCookiesToResponse":["a;b"]}}"#, "forwardAuth.addAuthCookiesToResponse[0]: \"a;b\" is not a valid cookie name"),
    (r#"{"forwardAuth":{"address":"http://a","maxBodySize":-7}}"#, "forwardAuth.maxBodySize: -7 is not a size (use -1 for no limit, or 0 and above)"),
    (r#"{"ipAllowList":{}}"#, "ipAllowList.sourceRange: at least one IP or CIDR range is required"),
    (r#"{"ipAllowList":{"sourceRange":["10.0.0.0/8","10.0.0.0/33"]}}"#, "ipAllowList.sourceRange[1]: \"10.0.0.0/33\" is neither an IP address nor a CIDR range"),
    (r#"{"ipAllowList":{"sourceRange":["localhost"]}}"#, "ipAllowList.sourceRange[0]: \"localhost\" is neither an IP address nor a CIDR range"),
    (r#"{"ipAllowList":{"sourceRange":["::1"],"ipStrategy":{"excludedIPs":["x"]}}}"#, "ipAllowList.ipStrategy.excludedIPs[0]: \"x\" is neither an IP address nor a CIDR range"),
    (r#"{"ipAllowList":{"sourceRange":["::1"],"ipStrategy":{"ipv6Subnet":129}}}"#, "ipAllowList.ipStrategy.ipv6Subnet: 129 is not an IPv6 prefix length (0-128)"),
    (r#"{"ipAllowList":{"sourceRange":["::1"],"rejectStatusCode":42}}"#, "ipAllowList.rejectStatusCode: 42 is not an HTTP status code (100-599)"),
    (r#"{"inFlightReq":{}}"#, "inFlightReq.amount: 0 must be greater than zero"),
    (r#"{"inFlightReq":{"amount":-1}}"#, "inFlightReq.amount: -1 must be greater than zero"),
    (r#"{"inFlightReq":{"amount":1,"sourceCriterion":{"requestHost":true,"requestHeaderName":"X"}}}"#, "inFlightReq.sourceCriterion: only one of ipStrategy, requestHeaderName or requestHost may be set"),
    (r#"{"inFlightReq":{"amount":1,"sourceCriterion":{"requestHeaderName":"X Y"}}}"#, "inFlightReq.sourceCriterion.requestHeaderName: \"X Y\" is not a valid HTTP header name"),
    (r#"{"buffering":{"maxRequestBodyBytes":-1}}"#, "buffering.maxRequestBodyBytes: -1 must not be negative"),
    (r#"{"buffering":{"retryExpression":"Attempts( < 2"}}"#, "buffering.retryExpression: 1 unclosed `(`"),
    (r#"{"retry":{"attempts":0}}"#, "retry.attempts: 0 must be greater than zero"),
    (r#"{"retry":{}}"#, "retry.attempts: 0 must be greater than zero"),
    (r#"{"circuitBreaker":{}}"#, "circuitBreaker.expression: is required"),
    (r#"{"circuitBreaker":{"expression":"  "}}"#, "circuitBreaker.expression: is required"),
    (r#"{"circuitBreaker":{"expression":"NetworkErrorRatio()) > 0.5"}}"#, "circuitBreaker.expression: unmatched `)` at column 20"),
    (r#"{"circuitBreaker":{"expression":"((NetworkErrorRatio() > 0.5)"}}"#, "circuitBreaker.expression: 1 unclosed `(`"),
    (r#"{"circuitBreaker":{"expression":"A() > 1"}}"#, "circuitBreaker.expression: \"A() > 1\": column 1: unknown function \"A\""),
    (r#"{"circuitBreaker":{"expression":"NetworkErrorRatio() >> 1"}}"#, "circuitBreaker.expression: \"NetworkErrorRatio() >> 1\": column 22: expected a number or a function call, found a comparison operator"),
    (r#"{"circuitBreaker":{"expression":"IsNetworkError()"}}"#, "circuitBreaker.expression: \"IsNetworkError()\": column 1: unknown function \"IsNetworkError\""),
    (r#"{"buffering":{"retryExpression":"Attempts() < 2 && NetworkErrorRatio() > 1"}}"#, "buffering.retryExpression: \"Attempts() < 2 && NetworkErrorRatio() > 1\": column 19: unknown function \"NetworkErrorRatio\""),
    (r#"{"circuitBreaker":{"expression":"NetworkErrorRatio() > 1","checkPeriod":"0s"}}"#, "circuitBreaker.checkPeriod: must be greater than zero"),
    (r#"{"circuitBreaker":{"expression":"NetworkErrorRatio() > 1","responseCode":600}}"#, "circuitBreaker.responseCode: 600 is not an HTTP status code (100-599)"),
    (r#"{"compress":{"excludedContentTypes":["a/b"],"includedContentTypes":["c/d"]}}"#, "compress: excludedContentTypes and includedContentTypes cannot be used together"),
    (r#"{"compress":{"includedContentTypes":["html"]}}"#, "compress.includedContentTypes[0]: \"html\" is not a media type like \"text/html\""),
    (r#"{"compress":{"minResponseBodyBytes":-1}}"#, "compress.minResponseBodyBytes: -1 must not be negative"),
    (r#"{"compress":{"encodings":["gzip","deflate"]}}"#, "compress.encodings[1]: \"deflate\" must be gzip, br or zstd"),
    (r#"{"compress":{"defaultEncoding":"lzma"}}"#, "compress.defaultEncoding: \"lzma\" must be gzip, br or zstd"),
    (r#"{"errors":{"service":"s"}}"#, "errors.status: at least one status or range is required"),
    (r#"{"errors":{"status":["500-499"],"service":"s"}}"#, "errors.status[0]: \"500-499\": range start 500 is above its end 499"),
    (r#"{"errors":{"status":["5xx"],"service":"s"}}"#, "errors.status[0]: \"5xx\" is not a status code or range like \"404\" or \"500-599\""),
    (r#"{"errors":{"status":["404"]}}"#, "errors.service: is required"),
    (r#"{"errors":{"status":["404"],"service":"s","query":"x.html"}}"#, "errors.query: \"x.html\" must start with \"/\""),
    (r#"{"errors":{"status":["404"],"service":"s","statusRewrites":{"4xx":400}}}"#, "errors.statusRewrites[\"4xx\"]: \"4xx\" is not a status code or range like \"404\" or \"500-599\""),
    (r#"{"errors":{"status":["404"],"service":"s","statusRewrites":{"404":9}}}"#, "errors.statusRewrites[\"404\"]: 9 is not an HTTP status code (100-599)"),
    (r#"{"grpcWeb":{"allowOrigins":["app.example.com"]}}"#, "grpcWeb.allowOrigins[0]: \"app.example.com\" is not \"*\" or an origin like \"https://app.example.com\""),
    (r#"{"grpcWeb":{"allowOrigins":["*","https://a.com/path"]}}"#, "grpcWeb.allowOrigins[1]: \"https://a.com/path\" is not \"*\" or an origin like \"https://app.example.com\""),
    (r#"{"chain":{}}"#, "chain.middlewares: at least one middleware is required"),
    (r#"{"chain":{"middlewares":["a","b c"]}}"#, "chain.middlewares[1]: \"b c\": character ' ' at position 2 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')"),
    (r#"{"chain":{"middlewares":["a","mw@file"]}}"#, "chain: middleware \"mw\" refers to itself"),
];

#[test]
fn every_invalid_example_names_field_and_reason() {
    for (json, message) in INVALID {
        assert_eq!(
            validate(json),
            Err(format!("middleware \"mw\": {message}")),
            "{json}"
        );
    }
}

#[test]
fn auth_errors_do_not_echo_hashes() {
    let err = validate(r#"{"basicAuth":{"users":["secret$hash"]}}"#).unwrap_err();
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn references() {
    assert_eq!(
        parse(r#"{"chain":{"middlewares":["a","b@file"]}}"#).references(),
        vec![(Kind::Middleware, "a"), (Kind::Middleware, "b@file")]
    );
    assert_eq!(
        parse(r#"{"errors":{"status":["404"],"service":"pages"}}"#).references(),
        vec![(Kind::Service, "pages")]
    );
    assert!(parse(VALID[0]).references().is_empty());
}

#[test]
fn status_ranges_are_exposed() {
    let Middleware::Errors(e) = parse(r#"{"errors":{"status":["404","500-599"],"service":"s"}}"#)
    else {
        panic!("expected errors middleware");
    };
    assert_eq!(e.status_ranges(), vec![(404, 404), (500, 599)]);
}

#[test]
fn invalid_middleware_name() {
    let m = parse(VALID[0]);
    assert_eq!(
        m.validate("bad name").unwrap_err().to_string(),
        "middleware name \"bad name\": character ' ' at position 4 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')"
    );
}

#[test]
fn durations_in_middlewares_must_parse() {
    let err =
        serde_json::from_str::<Middleware>(r#"{"retry":{"attempts":1,"initialInterval":"fast"}}"#)
            .unwrap_err()
            .to_string();
    assert!(err.contains("invalid duration \"fast\""), "{err}");
}

#[test]
fn https_forward_auth_is_refused_until_tls_lands() {
    let m: Middleware =
        serde_json::from_str(r#"{"forwardAuth":{"address":"https://auth.local/verify"}}"#)
            .expect("parses");
    let err = m.validate("auth").unwrap_err().to_string();
    assert!(
        err.starts_with("middleware \"auth\": forwardAuth.address: \"https://auth.local/verify\": https is not supported yet"),
        "{err}"
    );
}
