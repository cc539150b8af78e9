use super::*;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-compress\r\nContent-Length: 5\r\nX-Empty:\r\n\r\nhello";
const REQUEST: &[u8] =
    b"POST /ocsinventory?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc";

fn response(buf: &[u8]) -> Result<Status<(ResponseHead<'_>, Vec<Header<'_>>)>, Error> {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    Ok(match parse_response_head(buf, &mut slots)? {
        Status::Complete(h) => Status::Complete((h, slots[..h.header_count].to_vec())),
        Status::Partial => Status::Partial,
    })
}

fn request(buf: &[u8]) -> Result<Status<(RequestHead<'_>, Vec<Header<'_>>)>, Error> {
    let mut slots = [Header::EMPTY; MAX_HEADERS];
    Ok(match parse_request_head(buf, &mut slots)? {
        Status::Complete(h) => Status::Complete((h, slots[..h.header_count].to_vec())),
        Status::Partial => Status::Partial,
    })
}

fn response_err(buf: &[u8]) -> Error {
    response(buf).expect_err("expected an error")
}

#[test]
fn response_head_gives_status_reason_headers_and_body_offset() {
    let Status::Complete((h, fields)) = response(RESPONSE).unwrap() else {
        panic!("partial")
    };
    assert_eq!((h.minor_version, h.status, h.reason), (1, 200, "OK"));
    assert_eq!(&RESPONSE[h.len..], b"hello");
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0].name, "Content-Type");
    assert_eq!(fields[0].value, b"application/x-compress");
    assert_eq!(
        fields[2],
        Header {
            name: "X-Empty",
            value: b""
        }
    );
    assert_eq!(find_header(&fields, "content-length").unwrap().value, b"5");
}

#[test]
fn every_prefix_of_a_response_head_is_partial() {
    let head_len = RESPONSE.len() - 5;
    for cut in 0..head_len {
        assert_eq!(
            response(&RESPONSE[..cut]),
            Ok(Status::Partial),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        response(&RESPONSE[..head_len]),
        Ok(Status::Complete(_))
    ));
}

#[test]
fn every_prefix_of_a_request_head_is_partial() {
    let head_len = REQUEST.len() - 3;
    for cut in 0..head_len {
        assert_eq!(
            request(&REQUEST[..cut]),
            Ok(Status::Partial),
            "cut at {cut}"
        );
    }
    let Status::Complete((h, fields)) = request(REQUEST).unwrap() else {
        panic!("partial")
    };
    assert_eq!(
        (h.method, h.target, h.minor_version),
        ("POST", "/ocsinventory?x=1", 1)
    );
    assert_eq!(h.len, head_len);
    assert_eq!(
        fields[0],
        Header {
            name: "Host",
            value: b"example.com"
        }
    );
}

/// A head of exactly `len` bytes: status line, one padding header, empty line.
fn head_of_len(len: usize) -> Vec<u8> {
    let fixed = b"HTTP/1.1 200 OK\r\nX-Pad: \r\n\r\n".len();
    let mut v = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    v.resize(len - 4, b'a');
    v.extend_from_slice(b"\r\n\r\n");
    assert!(len > fixed);
    v
}

#[test]
fn head_of_exactly_max_head_bytes_is_accepted_one_more_is_too_large() {
    let at = head_of_len(MAX_HEAD_BYTES);
    assert!(matches!(response(&at), Ok(Status::Complete(h)) if h.0.len == MAX_HEAD_BYTES));
    let over = head_of_len(MAX_HEAD_BYTES + 1);
    assert_eq!(response_err(&over), Error::HeadTooLarge);
    // Also when only the first MAX_HEAD_BYTES have arrived.
    assert_eq!(response_err(&over[..MAX_HEAD_BYTES]), Error::HeadTooLarge);
    assert_eq!(response(&over[..MAX_HEAD_BYTES - 1]), Ok(Status::Partial));
}

#[test]
fn max_headers_fields_are_accepted_one_more_is_too_many() {
    let head = |n: usize| {
        let mut v = b"HTTP/1.1 204 No Content\r\n".to_vec();
        for i in 0..n {
            v.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v
    };
    let ok = head(MAX_HEADERS);
    assert!(matches!(response(&ok), Ok(Status::Complete((h, _))) if h.header_count == MAX_HEADERS));
    assert_eq!(response_err(&head(MAX_HEADERS + 1)), Error::TooManyHeaders);
    // A caller with fewer slots gets the error at its own count.
    let mut two = [Header::EMPTY; 2];
    assert_eq!(
        parse_response_head(&head(3), &mut two),
        Err(Error::TooManyHeaders)
    );
}

#[test]
fn request_target_of_max_length_is_accepted_one_more_is_too_long() {
    let req = |n: usize| format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(n - 1));
    assert!(matches!(
        request(req(MAX_TARGET_LEN).as_bytes()),
        Ok(Status::Complete(_))
    ));
    assert_eq!(
        request(req(MAX_TARGET_LEN + 1).as_bytes()),
        Err(Error::TargetTooLong)
    );
}

#[test]
fn header_values_with_controls_and_folded_or_spaced_names_are_refused() {
    let bad: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n",
    ];
    for b in bad {
        assert_eq!(
            response_err(b),
            Error::BadHeader,
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn header_values_are_trimmed_and_may_hold_obs_text() {
    let Status::Complete((_, f)) =
        response(b"HTTP/1.1 200 OK\r\nX:  \t caf\xc3\xa9 \t\r\n\r\n").unwrap()
    else {
        panic!("partial")
    };
    assert_eq!(f[0].value_str(), Some("café"));
}

#[test]
fn malformed_status_lines_are_refused() {
    let bad: &[&[u8]] = &[
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 200OK\r\n\r\n",
        b"HTTP/1.1 200 O\0K\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
    ];
    for b in bad {
        assert_eq!(
            response_err(b),
            Error::BadStatusLine,
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn a_peer_not_speaking_http_is_refused_from_its_first_bytes() {
    assert_eq!(response_err(b"\x16\x03"), Error::BadStatusLine);
    assert_eq!(response_err(b"SSH-2"), Error::BadStatusLine);
    assert_eq!(response(b"HTT"), Ok(Status::Partial));
}

#[test]
fn missing_reason_and_bare_lf_line_ends_are_tolerated() {
    let Status::Complete((h, f)) = response(b"HTTP/1.0 404\nServer: x\n\nbody").unwrap() else {
        panic!("partial")
    };
    assert_eq!(
        (h.minor_version, h.status, h.reason, h.len),
        (0, 404, "", 24)
    );
    assert_eq!(f[0].value, b"x");
}

#[test]
fn request_parser_skips_leading_empty_lines_and_refuses_bad_request_lines() {
    let Status::Complete((h, _)) = request(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n").unwrap() else {
        panic!("partial")
    };
    assert_eq!((h.method, h.target, h.minor_version), ("GET", "/", 0));
    let bad: &[&[u8]] = &[
        b"GET / HTTP/1.2\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET /a b HTTP/1.1\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\n\r\n",
        b"GET\r\n\r\n",
    ];
    for b in bad {
        assert_eq!(
            request(b),
            Err(Error::BadRequestLine),
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
}

fn fields(list: &[(&'static str, &'static str)]) -> Vec<Header<'static>> {
    list.iter()
        .map(|(n, v)| Header {
            name: n,
            value: v.as_bytes(),
        })
        .collect()
}

#[test]
fn replies_to_head_and_204_304_1xx_have_no_body_whatever_the_headers_say() {
    let h = fields(&[("Content-Length", "10")]);
    assert_eq!(response_body_length(true, 200, &h), Ok(BodyLength::Empty));
    for status in [100, 204, 304] {
        assert_eq!(
            response_body_length(false, status, &h),
            Ok(BodyLength::Empty)
        );
    }
    assert_eq!(
        response_body_length(false, 200, &h),
        Ok(BodyLength::Length(10))
    );
    assert_eq!(
        response_body_length(false, 200, &[]),
        Ok(BodyLength::UntilClose)
    );
    assert_eq!(request_body_length(&[]), Ok(BodyLength::Empty));
}

#[test]
fn chunked_with_content_length_is_refused_and_only_chunked_coding_is_known() {
    let both = fields(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]);
    assert_eq!(
        response_body_length(false, 200, &both),
        Err(Error::ConflictingLength)
    );
    assert_eq!(request_body_length(&both), Err(Error::ConflictingLength));
    let te = fields(&[("transfer-encoding", "Chunked")]);
    assert_eq!(request_body_length(&te), Ok(BodyLength::Chunked));
    for v in ["gzip, chunked", "identity", ""] {
        let h = [Header {
            name: "Transfer-Encoding",
            value: v.as_bytes(),
        }];
        assert_eq!(
            request_body_length(&h),
            Err(Error::BadTransferEncoding),
            "{v}"
        );
    }
    let twice = fields(&[
        ("Transfer-Encoding", "chunked"),
        ("Transfer-Encoding", "chunked"),
    ]);
    assert_eq!(request_body_length(&twice), Err(Error::BadTransferEncoding));
}

#[test]
fn content_length_repeats_must_agree_and_values_must_be_plain_digits() {
    let same = fields(&[("Content-Length", "42"), ("content-length", "42, 42")]);
    assert_eq!(request_body_length(&same), Ok(BodyLength::Length(42)));
    let differ = fields(&[("Content-Length", "42"), ("Content-Length", "43")]);
    assert_eq!(request_body_length(&differ), Err(Error::BadContentLength));
    assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
    for v in ["18446744073709551616", "-1", "+5", "1 2", "", "0x10", "42,"] {
        let h = [Header {
            name: "Content-Length",
            value: v.as_bytes(),
        }];
        assert_eq!(
            request_body_length(&h),
            Err(Error::BadContentLength),
            "{v:?}"
        );
    }
}

/// Decodes `input` fed in pieces of `step` bytes; returns the body and the bytes left.
fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), Error> {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    let mut fed = 0;
    let mut pos = 0;
    while !d.is_done() {
        if pos == fed {
            if fed == input.len() {
                break;
            }
            fed = (fed + step).min(input.len());
        }
        let (used, data) = d.decode(&input[pos..fed])?;
        body.extend_from_slice(data);
        pos += used;
    }
    assert!(d.is_done(), "decoder not done after all input");
    Ok((body, input.len() - pos))
}

const CHUNKED: &[u8] = b"5;name=value;q=\"x\"\r\nhello\r\n9 \r\n, world!\n\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\nNEXT";

#[test]
fn chunked_body_with_extensions_and_trailers_decodes_in_any_pieces() {
    for step in [1, 2, 3, 7, CHUNKED.len()] {
        let (body, left) = decode_in_steps(CHUNKED, step).unwrap();
        assert_eq!(body, b"hello, world!\n", "step {step}");
        assert_eq!(left, 4, "bytes after the body stay for the next message");
    }
}

#[test]
fn chunk_sizes_of_sixteen_hex_digits_are_read_seventeen_are_refused() {
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.decode(b"00000000000000ff\r\n"), Ok((18, &b""[..])));
    let (used, data) = d.decode(&[b'x'; 300]).unwrap();
    assert_eq!((used, data.len()), (255, 255));
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.decode(b"00000000000000001\r\n"), Err(Error::BadChunk));
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.decode(b"ffffffffffffffff\r\n").map(|r| r.0), Ok(18));
}

#[test]
fn malformed_chunked_framing_is_refused() {
    let bad: &[&[u8]] = &[
        b"\r\n",
        b";ext\r\n",
        b"5\r\nhelloX\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5 5\r\nhello\r\n",
        b"g\r\n",
        b"-1\r\n",
        b"0\r\nX: \x01\r\n\r\n",
        b"0\r\n\r\r",
        b"5;a\x00\r\n",
    ];
    for b in bad {
        let r = decode_in_steps(b, 1);
        assert!(
            matches!(r, Err(Error::BadChunk)),
            "{:?} gave {r:?}",
            String::from_utf8_lossy(b)
        );
    }
}

#[test]
fn chunk_lines_and_trailers_past_their_limits_are_refused() {
    let mut line = b"1;".to_vec();
    line.resize(MAX_CHUNK_LINE_BYTES, b'a');
    line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    assert!(
        decode_in_steps(&line, 64).is_ok(),
        "line of exactly the limit"
    );
    let mut long = b"1;".to_vec();
    long.resize(MAX_CHUNK_LINE_BYTES + 1, b'a');
    long.extend_from_slice(b"\r\n");
    assert_eq!(decode_in_steps(&long, 64), Err(Error::BadChunk));

    let mut trailers = b"0\r\n".to_vec();
    for _ in 0..MAX_TRAILER_BYTES / 8 {
        trailers.extend_from_slice(b"X: 12345\r\n");
    }
    let mut at_limit = trailers.clone();
    at_limit.extend_from_slice(b"\r\n");
    assert!(
        decode_in_steps(&at_limit, 512).is_ok(),
        "trailers of exactly the limit"
    );
    trailers.extend_from_slice(b"Y\r\n\r\n");
    assert_eq!(
        decode_in_steps(&trailers, 512),
        Err(Error::TrailersTooLarge)
    );
}

#[test]
fn targets_split_into_path_and_query_and_queries_into_raw_pairs() {
    assert_eq!(split_target("/"), ("/", None));
    assert_eq!(split_target("/?"), ("/", Some("")));
    assert_eq!(split_target("/a?b=1?c"), ("/a", Some("b=1?c")));
    let pairs: Vec<_> = query_pairs("action=log&&deviceid=a%20b&flag&=x").collect();
    assert_eq!(
        pairs,
        [
            ("action", "log"),
            ("deviceid", "a%20b"),
            ("flag", ""),
            ("", "x")
        ]
    );
    assert_eq!(query_pairs("").count(), 0);
}

fn decoded(raw: &str) -> Result<Vec<u8>, Error> {
    let mut out = [0u8; 64];
    percent_decode(raw.as_bytes(), &mut out).map(<[u8]>::to_vec)
}

#[test]
fn percent_decoding_happens_once_and_refuses_broken_escapes() {
    assert_eq!(decoded("a%2Fb%2fc").unwrap(), b"a/b/c");
    assert_eq!(decoded("%252e").unwrap(), b"%2e", "decoded once only");
    assert_eq!(decoded("a+b%00").unwrap(), b"a+b\0");
    assert_eq!(decoded("%C3%A9").unwrap(), "é".as_bytes());
    for bad in ["%", "%2", "%zz", "a%g0", "%%41"] {
        assert_eq!(decoded(bad), Err(Error::BadPercentEncoding), "{bad:?}");
    }
    let mut small = [0u8; 2];
    assert_eq!(
        percent_decode(b"abc", &mut small),
        Err(Error::TargetTooLong)
    );
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        Error::HeadTooLarge.to_string(),
        "head longer than 16384 bytes"
    );
    assert_eq!(
        Error::TooManyHeaders.to_string(),
        "more than 64 header fields"
    );
}
