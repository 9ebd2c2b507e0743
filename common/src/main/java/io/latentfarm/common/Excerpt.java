package io.latentfarm.common;

/**
 * Short, printable excerpts of values that came from outside: every message, event, dead-letter
 * header and log line that quotes an offending value quotes at most a prefix of it, so no input can
 * make a record or a log line larger than the limits, however large it was.
 *
 * <p>Control characters and lone surrogates are escaped ({@code \n}, {@code \u0000}) so a quote
 * stays on one line and is valid UTF-8; a cut never splits a surrogate pair.
 */
public final class Excerpt {
    /** How many characters of a value {@link #quote(String)} keeps. */
    public static final int QUOTE_CHARS = 64;
    /** The longest message text (a violation, a decode error, a failure reason) {@link #cut(String)} keeps. */
    public static final int MESSAGE_CHARS = 500;

    private Excerpt() {
    }

    /**
     * The value in double quotes, or its first {@value #QUOTE_CHARS} characters and its length when
     * longer: {@code "xxxx..." (600000 characters)}; {@code null} for null.
     */
    public static String quote(String value) {
        return quote(value, QUOTE_CHARS);
    }

    public static String quote(String value, int maxChars) {
        if (value == null) {
            return "null";
        }
        if (value.length() <= maxChars) {
            return "\"" + escape(value) + "\"";
        }
        return "\"" + escape(prefix(value, maxChars)) + "...\" (" + value.length() + " characters)";
    }

    /** Message text cut to {@value #MESSAGE_CHARS} characters. */
    public static String cut(String text) {
        return cut(text, MESSAGE_CHARS);
    }

    /** The text, or its first {@code maxChars} characters and {@code "... (N characters)"}; escaped either way. */
    public static String cut(String text, int maxChars) {
        if (text == null) {
            return null;
        }
        if (text.length() <= maxChars) {
            return escape(text);
        }
        return escape(prefix(text, maxChars)) + "... (" + text.length() + " characters)";
    }

    /** At most {@code maxChars} characters from the start, one fewer where the cut would split a surrogate pair. */
    public static String prefix(String s, int maxChars) {
        int end = Math.min(maxChars, s.length());
        if (end > 0 && end < s.length() && Character.isHighSurrogate(s.charAt(end - 1))
                && Character.isLowSurrogate(s.charAt(end))) {
            end--;
        }
        return s.substring(0, end);
    }

    private static String escape(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String replacement = null;
            if (c == '\n') {
                replacement = "\\n";
            } else if (c == '\r') {
                replacement = "\\r";
            } else if (c == '\t') {
                replacement = "\\t";
            } else if (c < 0x20 || c == 0x7f) {
                replacement = String.format("\\u%04x", (int) c);
            } else if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                        : i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
                if (!paired) {
                    replacement = String.format("\\u%04x", (int) c);
                }
            }
            if (replacement != null && out == null) {
                out = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (out != null) {
                if (replacement != null) {
                    out.append(replacement);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? s : out.toString();
    }
}
