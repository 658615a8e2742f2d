#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The virtual card (tests/reader/vcard.c) on the real stack: our own pcscd with vsmartcard's vpcd
# reader driver, and tests/reader/apdu.c as the PC/SC client. The card is inserted and seen by
# pcscd, answers GET DATA CPLC, SELECT (by FID, path and DF name) and READ BINARY over its PKCS#15
# files so that the certificate read back in chunks is the file it was given; the test modes
# (cla00, error, truncate, garbage, stall, cut) change its answers as the reader tests need; it is
# removed and inserted again as another card; it survives a restart of pcscd.
# shellcheck source=tests/reader/lib.sh
source "$(dirname "$0")/lib.sh"

ATR1=3B8F8001804F0CA0000003060300030000000068 # vcard's default
ATR2=3B8880010073C8401300900071                # T=1, right TCK
CPLC=4790516747915112010051050A1B2C3D0A0B4812511000005115000151200000000100025125000000AA
AID=A000000063504B43532D3135
EF_DIR=611B4F0C${AID}5005534954485351043F005015
ODF=A40A300804063F0050154404
CDF=3024300F0C0D417574656E7469736572696E673003040145A10C300A300804063F00501543316282
CDF=${CDF%6282}
TOKENINFO=30170201000404${CPLC:24:8}0C0C6B6F72746E6F642074657374

# card APDU... - apdu on reader 0: RC, OUT, ERR as run, and the output lines in R (R[0] is the
# ATR line, R[i] the response to the i-th APDU).
card() {
    run "$APDU" --reader "$READER0" "$@"
    mapfile -t R <<<"$OUT"
}

# card_ok WHAT APDU... - as card, failing unless apdu exits 0.
card_ok() {
    local what=$1
    shift
    card "$@"
    expect_rc 0 "$what (apdu $*)"
}

# want I RESPONSE WHAT - the response to the I-th APDU of the last card call.
want() {
    [[ "${R[$1]:-}" == "$2" ]] || fail "$3: response ${R[$1]:-(none)}, want $2
--- apdu output:
$OUT
--- stderr:
$ERR"
}

# read_file CMD_SELECT OUTFILE - select an EF (P2 04: the FCP gives its size), read it in chunks
# of 223 bytes, and write its bytes into OUTFILE.
read_file() {
    local size off cmds=() hex="" esc="" i last
    card_ok "select for the file size" "$1"
    [[ "${R[1]}" =~ ^620B8002([0-9A-F]{4})820101 ]] || fail "FCP of an EF expected, got ${R[1]}"
    size=$((16#${BASH_REMATCH[1]}))
    for ((off = 0; off < size; off += 223)); do
        cmds+=("$(printf '00B0%04XDF' "$off")")
    done
    card_ok "read binary in chunks" "$1" "${cmds[@]}"
    last=$((${#cmds[@]} + 1))
    for ((i = 2; i <= last; i++)); do
        if ((i < last || size % 223 == 0)); then
            [[ "${R[$i]}" == *9000 ]] || fail "chunk $((i - 1)) of ${#cmds[@]}: ${R[$i]}"
        else
            [[ "${R[$i]}" == *6282 ]] ||
                fail "the last chunk, shorter than Le, must end with 6282: ${R[$i]}"
        fi
        hex+=${R[$i]:0:-4}
    done
    ((${#hex} == 2 * size)) || fail "read $((${#hex} / 2)) bytes, the FCP says $size"
    for ((i = 0; i < ${#hex}; i += 2)); do
        esc+="\\x${hex:i:2}"
    done
    printf '%b' "$esc" >"$2"
}

reader_setup
ok "our pcscd runs, vpcd listens on ports $VPCD_PORT and $((VPCD_PORT + 1))"

make_cert "Test One" SE2321000016-TEST1
CERT1=$CERT
vcard_start --cert "$CERT1" --cplc "$CPLC"

card
[[ $RC == 2 && "$ERR" == *"no card"* ]] ||
    fail "apdu before insert: exit $RC, want 2 with 'no card': $ERR"
run "$APDU" --reader "$READER1"
[[ $RC == 2 ]] || fail "apdu on the empty $READER1: exit $RC, want 2: $ERR"
ok "no card in either reader before insert (apdu exits 2)"

t0=$(now_ms)
vcard_do insert
card_wait present
ok "inserted: pcscd sees the card $(($(now_ms) - t0)) ms after the insert command"

card_ok "ATR"
want 0 "atr $ATR1" "ATR"
ok "the ATR pcscd reports is vcard's: $ATR1"

card_ok "GET DATA CPLC" 80CA9F7F00 00CA9F7F00 80CA9F7F2D 80CA9F7F05 80CA9F7E00 80CA9F7F
want 1 "9F7F2A${CPLC}9000" "GET DATA CPLC, CLA 80"
want 2 "9F7F2A${CPLC}9000" "GET DATA CPLC, CLA 00"
want 3 "9F7F2A${CPLC}9000" "GET DATA CPLC, Le 2D"
want 4 6C2D "GET DATA CPLC with Le 05"
want 5 6A88 "GET DATA 9F7E"
want 6 6C2D "GET DATA CPLC without Le"
ok "GET DATA CPLC: 9F7F2A + the 42 bytes of --cplc + 9000 (CLA 80 or 00); 6C2D for a wrong Le"

card_ok "EF.DIR" 00A4080C022F00 00B0000000 00A4080C043F002F00 00B0000000 00A40004022F00
want 1 9000 "SELECT by path 2F00"
want 2 "${EF_DIR}6282" "READ BINARY of EF.DIR"
want 3 9000 "SELECT by path 3F00 2F00"
want 4 "${EF_DIR}6282" "READ BINARY of EF.DIR"
want 5 620B8002001D82010183022F009000 "SELECT 2F00 with FCP"
ok "EF.DIR, selected by path (with or without 3F00) and read: $EF_DIR"

card_ok "PKCS#15 DF" "00A4040C0C$AID" 00A4000C025031 00B0000000 00A40004025031 \
    00A4000C024404 00B0000000 00A4000C025032 00B0000000 00A4000C025015 00A4000C024331
want 1 9000 "SELECT the PKCS#15 DF by AID"
want 2 9000 "SELECT the ODF in the DF"
want 3 "${ODF}6282" "READ BINARY of the ODF"
want 4 620B8002000C820101830250319000 "SELECT the ODF with FCP"
want 5 9000 "SELECT the CDF, a sibling of the ODF"
want 6 "${CDF}6282" "READ BINARY of the CDF"
want 7 9000 "SELECT TokenInfo"
want 8 "${TOKENINFO}6282" "READ BINARY of TokenInfo"
want 9 9000 "SELECT the DF 5015 itself by FID"
want 10 9000 "SELECT the certificate EF"
card_ok "DF FCP" 00A40004023F00 "00A404040C${AID}00" 00A4000402ABCD
want 1 620B8002000082013883023F009000 "SELECT MF with FCP"
want 2 620B80020000820138830250159000 "SELECT the PKCS#15 DF by AID with FCP"
want 3 6A82 "SELECT of a missing file"
ok "PKCS#15: DF by AID, ODF $ODF, CDF, TokenInfo, FCPs of EFs and DFs, 6A82 for a missing file"

read_file 00A408040450154331 "$T/cert1.der"
cmp -s "$T/cert1.der" "$CERT1" || fail "the certificate read back differs from $CERT1"
subject=$(openssl x509 -inform DER -in "$T/cert1.der" -noout -subject) ||
    fail "the certificate read back does not parse"
[[ "$subject" == *"serialNumber = SE2321000016-TEST1"* ]] ||
    fail "the certificate read back has the subject $subject"
ok "the certificate read back in 223-byte chunks is $CERT1 byte for byte ($subject)"

card_ok "errors" 00A4000C023F00 00B0000000 00A408040450154331 00B07FFF00 00B0800000 00C0000000 \
    84A4000C023F00 00A4000C033F00 00A4010C023F00
want 2 6986 "READ BINARY with no EF selected"
want 4 6B00 "READ BINARY beyond the end"
want 5 6A86 "READ BINARY with a short EF identifier"
want 6 6D00 "an unknown INS"
want 7 6E00 "CLA 84"
want 8 6700 "an Lc longer than the data"
want 9 6A86 "SELECT P1 01"
ok "status words: 6986 no EF, 6B00 beyond the end, 6A86, 6D00 unknown INS, 6E00 CLA, 6700 Lc"

vcard_do mode cla00
card_ok "mode cla00" 80CA9F7F00 00CA9F7F00
want 1 6E00 "GET DATA CLA 80 in mode cla00"
want 2 "9F7F2A${CPLC}9000" "GET DATA CLA 00 in mode cla00"
ok "mode cla00: GET DATA with CLA 80 gives 6E00, with CLA 00 the CPLC"

vcard_do mode error 6F00
card_ok "mode error" 00A4000C023F00 80CA9F7F00
want 1 6F00 "SELECT in mode error 6F00"
want 2 6F00 "GET DATA in mode error 6F00"
vcard_do mode truncate 10
card_ok "mode truncate" 00A4080C022F00 00B0000000 80CA9F7F00
want 1 9000 "SELECT in mode truncate"
want 2 "${EF_DIR:0:20}9000" "READ BINARY in mode truncate 10"
want 3 "9F7F2A${CPLC:0:14}9000" "GET DATA in mode truncate 10"
vcard_do mode garbage
card_ok "mode garbage" 00A4080C022F00 00B0000000
want 1 9000 "SELECT in mode garbage"
[[ "${R[2]}" =~ ^[0-9A-F]{6}9000$ ]] || fail "READ BINARY in mode garbage: ${R[2]}"
vcard_do mode stall 700
t0=$(now_ms)
card_ok "mode stall" 00A4000C023F00
took=$(($(now_ms) - t0))
want 1 9000 "SELECT in mode stall"
((took >= 700)) || fail "mode stall 700: the answer came after $took ms"
ok "modes: error 6F00, truncate 10, garbage (3 bytes + 9000), stall 700 (answer after $took ms)"

vcard_do mode cut 1
vcard_mark
card "00A4000C023F00" "00A4000C023F00" "00A4000C023F00"
((RC != 0)) || fail "mode cut 1: apdu succeeded: $OUT"
want 1 9000 "the APDU before the cut"
[[ -z "${R[2]:-}" ]] || fail "mode cut 1: the second APDU got an answer: ${R[2]}"
vcard_wait '^removed$' 5
card_wait absent
ok "mode cut 1: the 2nd APDU fails ($(tail -n 1 <<<"$ERR")), pcscd sees the card gone"
vcard_do insert
card_wait present
card_ok "after the cut" 00A4000C023F00
want 1 9000 "SELECT after the cut and a new insert"
ok "after a cut the card is back to mode normal once inserted again"

t0=$(now_ms)
vcard_do remove
card_wait absent
ok "removed: pcscd sees the reader empty $(($(now_ms) - t0)) ms after the remove command"
card 00A4000C023F00
[[ $RC == 2 && "$ERR" == *"no card"* ]] ||
    fail "apdu after remove: exit $RC, want 2 with 'no card': $ERR"
ok "apdu after remove: exit 2, $ERR"

make_ec_cert "Test Two" SE2321000016-TEST2
CERT2=$CERT
vcard_do cert "$CERT2"
vcard_do cplc none
vcard_do atr "$ATR2"
t0=$(now_ms)
vcard_do insert
card_wait present
ok "inserted again as another card: seen after $(($(now_ms) - t0)) ms"
card_ok "second card" 80CA9F7F00
want 0 "atr $ATR2" "the second card's ATR"
want 1 6A88 "GET DATA CPLC with cplc none"
read_file 00A408040450154331 "$T/cert2.der"
cmp -s "$T/cert2.der" "$CERT2" || fail "the second certificate read back differs from $CERT2"
ok "the second card: ATR $ATR2, no CPLC (6A88), its own certificate read back"

pcscd_stop
vcard_wait '^removed$' 5
ok "pcscd stopped: vpcd dropped the card ($(grep -c '^closed by vpcd$' "$T/vcard.out") x closed by vpcd)"
pcscd_start
vcard_do insert
card_wait present
card_ok "after the pcscd restart" 00A4000C023F00
want 0 "atr $ATR2" "the ATR after the pcscd restart"
want 1 9000 "SELECT after the pcscd restart"
ok "pcscd started again: the card inserted again is seen and answers"

chip_cplc=$(cplc_hex 4790504012345678)
vcard_do cplc "$chip_cplc"
card_ok "cplc_hex" 80CA9F7F00
want 1 "9F7F2A${chip_cplc}9000" "GET DATA after cplc \$(cplc_hex ...)"
[[ "${chip_cplc:0:8}${chip_cplc:24:8}" == 4790504012345678 ]] ||
    fail "cplc_hex 4790504012345678 puts the chip serial elsewhere: $chip_cplc"
ok "cplc_hex CHIP: 42 bytes with IC fabricator, IC type and IC serial number from CHIP"

vcard_stop
card_wait absent
ok "vcard quit: the reader is empty"
