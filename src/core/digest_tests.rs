use super::*;

fn run(h: &mut dyn Hasher, data: &[u8]) -> String {
    // Fed in uneven pieces, so that the block boundaries are crossed mid-piece.
    for piece in data.chunks(7) {
        h.update(piece);
    }
    hex(&h.finish())
}

#[test]
fn md5_matches_rfc1321() {
    let cases = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            "abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            run(&mut Md5::new(), input.as_bytes()),
            want,
            "md5({input:?})"
        );
    }
}

#[test]
fn sha1_matches_fips180() {
    assert_eq!(
        run(&mut Sha1::new(), b"abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        run(
            &mut Sha1::new(),
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        ),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    assert_eq!(
        run(&mut Sha1::new(), &vec![b'a'; 1_000_000]),
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
    );
}

#[test]
fn sha512_matches_fips180() {
    assert_eq!(
        run(&mut Sha512::new(), b"abc"),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
        run(&mut Sha512::new(), b""),
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
         47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    );
    assert_eq!(
        run(
            &mut Sha512::new(),
            b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        ),
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
         501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
    );
}

#[test]
fn sha2_family_matches_fips180() {
    let abc: &[u8] = b"abc";
    let long: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(
        run(&mut Sha256::new(), abc),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        run(&mut Sha256::new(), long),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(
        run(&mut Sha256::new(), b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        run(&mut Sha256::new224(), abc),
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
    );
    assert_eq!(
        run(&mut Sha512::new384(), abc),
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
         8086072ba1e7cc2358baeca134c825a7"
    );
    for (k, n) in [
        (Kind::Md5, 16),
        (Kind::Sha1, 20),
        (Kind::Sha224, 28),
        (Kind::Sha256, 32),
        (Kind::Sha384, 48),
        (Kind::Sha512, 64),
    ] {
        assert_eq!(k.digest(&[abc]).len(), n);
        assert_eq!(k.len(), n);
    }
}

/// RFC 4231 test cases 1, 2 and 6 (a key longer than the block), RFC 2202 for MD5 and SHA-1.
#[test]
fn hmac_matches_rfc4231_and_rfc2202() {
    let key1 = [0x0bu8; 20];
    let data1: &[u8] = b"Hi There";
    let cases: [(Kind, &[u8], &[u8], &str); 8] = [
        (Kind::Sha224, &key1, data1, "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22"),
        (Kind::Sha256, &key1, data1, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Kind::Sha384, &key1, data1, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
        (Kind::Sha512, &key1, data1, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        (Kind::Sha256, b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (Kind::Sha256, &[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (Kind::Md5, &[0x0b; 16], data1, "9294727a3638bb1c13f48ef8158bfc9d"),
        (Kind::Sha1, &key1, data1, "b617318655057264e28bc0b6fb378c8ef146be00"),
    ];
    for (k, key, data, want) in cases {
        assert_eq!(hex(&k.hmac(key, &[data])), want, "{k:?}");
    }
}
