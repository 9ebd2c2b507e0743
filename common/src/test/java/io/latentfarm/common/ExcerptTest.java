package io.latentfarm.common;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExcerptTest {

    @Test
    void shortValuesAreQuotedWhole() {
        assertEquals("\"pndm\"", Excerpt.quote("pndm"));
        assertEquals("null", Excerpt.quote(null));
    }

    @Test
    void longValuesKeepAPrefixAndTheirLength() {
        String quoted = Excerpt.quote("x".repeat(600_000));
        assertEquals("\"" + "x".repeat(Excerpt.QUOTE_CHARS) + "...\" (600000 characters)", quoted);
    }

    @Test
    void controlCharactersAndLoneSurrogatesAreEscaped() {
        assertEquals("\"a\\nb\\u0000c\\td\"", Excerpt.quote("a\nb\u0000c\td"));
        assertEquals("\"x\\ud800y\"", Excerpt.quote("x\ud800y"));
        assertEquals("\"\ud83d\ude00\"", Excerpt.quote("\ud83d\ude00"), "a pair stays as it is");
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        String s = "a".repeat(63) + "\ud83d\ude00" + "b".repeat(10);
        String quoted = Excerpt.quote(s);
        assertTrue(quoted.startsWith("\"" + "a".repeat(63) + "...\""), quoted);
        assertEquals("abc... (6 characters)", Excerpt.cut("abcdef", 3));
    }
}
