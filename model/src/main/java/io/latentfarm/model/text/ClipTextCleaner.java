package io.latentfarm.model.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text cleaning of OpenAI CLIP's simple_tokenizer before BPE:
 * {@code whitespace_clean(basic_clean(text)).lower()}, where basic_clean is
 * {@code html.unescape(html.unescape(ftfy.fix_text(text))).strip()}.
 *
 * <p>ftfy.fix_text is reproduced for its default fixes that change real prompts: HTML entities
 * (only when the text has no '&lt;', like ftfy's "auto"), terminal escapes, whole-string UTF-8
 * mojibake read as Windows-1252/Latin-1, C1 controls, Latin ligatures, full-width forms, curly
 * quotes, line breaks, lone surrogates, control characters, NFC. ftfy's partial mojibake
 * heuristics (badness scoring of mixed text) are not reproduced: a prompt that is only partly
 * mojibake is left as it is.
 */
public final class ClipTextCleaner {
    private static final Map<String, String> HTML5 = loadEntities();

    /** Python's html.unescape pattern. */
    private static final Pattern PY_CHARREF =
            Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    /** ftfy's entity pattern: always terminated by ';'. */
    private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");

    /** Windows-1252 bytes 0x80-0x9F; the five undefined ones decode to the same code point ("sloppy"). */
    private static final char[] CP1252_HIGH = (
            "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f"
            + "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178")
            .toCharArray();

    /** Python html._invalid_charrefs: numeric references to C1 controls mean Windows-1252. */
    private static final Map<Integer, String> INVALID_CHARREFS = new HashMap<>();

    static {
        INVALID_CHARREFS.put(0x00, "\ufffd");
        INVALID_CHARREFS.put(0x0d, "\r");
        for (int b = 0x80; b <= 0x9f; b++) {
            INVALID_CHARREFS.put(b, String.valueOf(CP1252_HIGH[b - 0x80]));
        }
    }

    private ClipTextCleaner() {
    }

    /** The text the BPE sees: fixed, unescaped, whitespace collapsed and stripped, lower case. */
    public static String clean(String text) {
        String t = fixText(text);
        t = htmlUnescape(htmlUnescape(t));
        t = pyStrip(t);
        t = collapseWhitespace(t);
        return t.toLowerCase(Locale.ROOT);
    }

    // ---------------------------------------------------------------- ftfy.fix_text

    /** ftfy.fix_text with its default configuration (see the class comment for what is covered). */
    public static String fixText(String text) {
        boolean unescape = text.indexOf('<') < 0;
        for (int round = 0; round < 16; round++) {
            String before = text;
            if (unescape) text = ftfyUnescape(text);
            text = TERMINAL_ESCAPE.matcher(text).replaceAll("");
            text = fixMojibake(text);
            text = fixC1Controls(text);
            text = fixLatinLigatures(text);
            text = fixCharacterWidth(text);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(before)) break;
        }
        return text;
    }

    private static String ftfyUnescape(String text) {
        if (text.indexOf('&') < 0) return text;
        Matcher m = FTFY_ENTITY.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String entity = m.group();
            String replacement = entity;
            if (entity.startsWith("&#")) {
                String r = charref(entity.substring(1));
                if (r != null) replacement = r;
            } else {
                String name = entity.substring(1);
                String r = HTML5.get(name);
                if (r == null) r = HTML5.get(name.toLowerCase(Locale.ROOT));
                if (r != null) replacement = r;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * UTF-8 bytes that were decoded as Windows-1252 (or Latin-1): re-encode and decode as UTF-8,
     * kept only when the whole string round-trips to valid UTF-8 and changes.
     */
    static String fixMojibake(String text) {
        boolean nonAscii = false;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                nonAscii = true;
                break;
            }
        }
        if (!nonAscii) return text;
        byte[] bytes = encodeSingleByte(text, true);
        if (bytes == null) bytes = encodeSingleByte(text, false);
        if (bytes == null) return text;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return text;
        }
    }

    /** Sloppy Windows-1252 (or Latin-1) bytes of the text, or null when a character has none. */
    private static byte[] encodeSingleByte(String text, boolean windows1252) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = -1;
            if (c < 0x80 || (c >= 0xa0 && c <= 0xff)) {
                b = c;
            } else if (windows1252) {
                for (int k = 0; k < CP1252_HIGH.length; k++) {
                    if (CP1252_HIGH[k] == c) {
                        b = 0x80 + k;
                        break;
                    }
                }
            } else if (c <= 0x9f) {
                b = c;
            }
            if (b < 0) return null;
            out[i] = (byte) b;
        }
        return out;
    }

    private static String fixC1Controls(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9f) {
                if (sb == null) sb = new StringBuilder(text.substring(0, i));
                sb.append(CP1252_HIGH[c - 0x80]);
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    private static String fixLatinLigatures(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\u0132' -> sb.append("IJ");
                case '\u0133' -> sb.append("ij");
                case '\u01c4' -> sb.append("D\u017d");
                case '\u01c5' -> sb.append("D\u017e");
                case '\u01c6' -> sb.append("d\u017e");
                case '\u01c7' -> sb.append("LJ");
                case '\u01c8' -> sb.append("Lj");
                case '\u01c9' -> sb.append("lj");
                case '\u01ca' -> sb.append("NJ");
                case '\u01cb' -> sb.append("Nj");
                case '\u01cc' -> sb.append("nj");
                case '\u01f1' -> sb.append("DZ");
                case '\u01f2' -> sb.append("Dz");
                case '\u01f3' -> sb.append("dz");
                case '\ufb00' -> sb.append("ff");
                case '\ufb01' -> sb.append("fi");
                case '\ufb02' -> sb.append("fl");
                case '\ufb03' -> sb.append("ffi");
                case '\ufb04' -> sb.append("ffl");
                case '\ufb05' -> sb.append("\u017ft");
                case '\ufb06' -> sb.append("st");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Full-width and half-width forms (U+FF01-U+FFEF) to their NFKC form; ideographic space to space. */
    private static String fixCharacterWidth(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u3000') {
                sb.append(' ');
            } else if (c >= '\uff01' && c <= '\uffef') {
                sb.append(Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String uncurlQuotes(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u02bc' || (c >= '\u2018' && c <= '\u201b')) {
                sb.append('\'');
            } else if (c >= '\u201c' && c <= '\u201f') {
                sb.append('"');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n')
                .replace('\u2029', '\n').replace('\u0085', '\n');
    }

    private static String fixSurrogates(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                sb.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                sb.append('\ufffd');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static boolean isRemovedControl(int cp) {
        return cp <= 0x08 || cp == 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp == 0x7f
                || (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffc)
                || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0000 && cp <= 0xe007f);
    }

    private static String removeControlChars(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().filter(cp -> !isRemovedControl(cp)).forEach(sb::appendCodePoint);
        return sb.toString();
    }

    // ---------------------------------------------------------------- Python html.unescape

    /** Python's html.unescape: HTML5 named references (longest prefix without ';'), numeric references. */
    public static String htmlUnescape(String text) {
        if (text.indexOf('&') < 0) return text;
        Matcher m = PY_CHARREF.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String s = m.group(1);
            String replacement;
            if (s.charAt(0) == '#') {
                replacement = charref(s);
            } else {
                replacement = HTML5.get(s);
                if (replacement == null) {
                    for (int x = s.length() - 1; x > 1; x--) {
                        String r = HTML5.get(s.substring(0, x));
                        if (r != null) {
                            replacement = r + s.substring(x);
                            break;
                        }
                    }
                }
                if (replacement == null) replacement = "&" + s;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** A numeric reference "#123;" or "#x7B" as Python's html module resolves it. */
    private static String charref(String s) {
        String digits = s.endsWith(";") ? s.substring(0, s.length() - 1) : s;
        BigInteger big;
        if (digits.length() > 1 && (digits.charAt(1) == 'x' || digits.charAt(1) == 'X')) {
            if (digits.length() == 2) return null;
            big = new BigInteger(digits.substring(2), 16);
        } else {
            if (digits.length() == 1) return null;
            try {
                big = new BigInteger(digits.substring(1));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        if (big.compareTo(BigInteger.valueOf(0x10ffff)) > 0) return "\ufffd";
        int num = big.intValue();
        String invalid = INVALID_CHARREFS.get(num);
        if (invalid != null) return invalid;
        if (num >= 0xd800 && num <= 0xdfff) return "\ufffd";
        if ((num >= 0x1 && num <= 0x8) || num == 0xb || (num >= 0xe && num <= 0x1f) || (num >= 0x7f && num <= 0x9f)
                || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) == 0xfffe) {
            return "";
        }
        return new String(Character.toChars(num));
    }

    // ---------------------------------------------------------------- whitespace

    /** Python's str.isspace(). */
    static boolean isPythonSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    private static String pyStrip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isPythonSpace(s.charAt(start))) start++;
        while (end > start && isPythonSpace(s.charAt(end - 1))) end--;
        return s.substring(start, end);
    }

    /** re.sub(r'\s+', ' ', text).strip() */
    private static String collapseWhitespace(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean inSpace = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isPythonSpace(c)) {
                inSpace = true;
            } else {
                if (inSpace && sb.length() > 0) sb.append(' ');
                inSpace = false;
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Map<String, String> loadEntities() {
        Map<String, String> map = new HashMap<>(4096);
        try (InputStream in = ClipTextCleaner.class.getResourceAsStream("html5-entities.tsv")) {
            if (in == null) throw new IllegalStateException("resource html5-entities.tsv is missing");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) {
                    value.appendCodePoint(Integer.parseInt(hex, 16));
                }
                map.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.copyOf(map);
    }
}
