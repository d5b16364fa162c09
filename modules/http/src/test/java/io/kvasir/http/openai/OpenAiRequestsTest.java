package io.kvasir.http.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.ApiError;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiRequestsTest {

    private static OpenAiRequests.Parsed chat(String json) {
        return OpenAiRequests.chat(json.getBytes(StandardCharsets.UTF_8), OpenAiRequests.Headers.NONE);
    }

    private static OpenAiRequests.Parsed completion(String json) {
        return OpenAiRequests.completion(json.getBytes(StandardCharsets.UTF_8), OpenAiRequests.Headers.NONE);
    }

    private static ApiError rejected(Runnable parse) {
        try {
            parse.run();
        } catch (ApiError.ApiException e) {
            return e.error();
        }
        throw new AssertionError("expected the request to be rejected");
    }

    @Test
    void samplingFieldsMapOntoSamplingParams() {
        SamplingParams s = chat("""
                {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.3, "top_p": 0.9,
                 "top_k": 40, "min_p": 0.05, "seed": 1234567890123, "presence_penalty": 0.5,
                 "frequency_penalty": -0.5, "repetition_penalty": 1.1, "logprobs": true, "top_logprobs": 3}
                """).generation().sampling();

        assertThat(s.temperature()).isEqualTo(0.3f);
        assertThat(s.topP()).isEqualTo(0.9f);
        assertThat(s.topK()).isEqualTo(40);
        assertThat(s.minP()).isEqualTo(0.05f);
        assertThat(s.seed()).isEqualTo(1234567890123L);
        assertThat(s.presencePenalty()).isEqualTo(0.5f);
        assertThat(s.frequencyPenalty()).isEqualTo(-0.5f);
        assertThat(s.repetitionPenalty()).isEqualTo(1.1f);
        assertThat(s.topLogprobs()).isEqualTo(3);
    }

    @Test
    void absentSamplingFieldsAreNeutral() {
        OpenAiRequests.Parsed p = chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        SamplingParams s = p.generation().sampling();

        assertThat(s).isEqualTo(new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, null, 0));
        assertThat(p.stream()).isFalse();
        assertThat(p.logprobs()).isFalse();
        assertThat(p.generation().maxTokens()).isNull();
        assertThat(p.generation().stop()).isEmpty();
        assertThat(p.generation().sessionId()).isNull();
        assertThat(p.generation().workload()).isEqualTo(GenerationRequest.Workload.INTERACTIVE);
    }

    @Test
    void topKMinusOneMeansDisabled() {
        assertThat(chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_k\": -1}")
                        .generation()
                        .sampling()
                        .topK())
                .isZero();
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() {
        assertThat(chat("""
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 9}
                """).generation().maxTokens()).isEqualTo(9);
    }

    @Test
    void contentPartsAreJoinedAndDeveloperIsSystem() {
        GenerationRequest r = chat("""
                {"model": "m", "messages": [
                  {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                  {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                  {"role": "assistant", "content": null}]}
                """).generation();

        assertThat(r.messages())
                .extracting(m -> m.role() + "|" + m.content())
                .containsExactly("system|Be brief.", "user|one\ntwo", "assistant|");
        assertThat(r.isChat()).isTrue();
    }

    @Test
    void nonTextPartsAndUnknownRolesAreRejected() {
        ApiError image = rejected(() -> chat("""
                {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
                """));
        assertThat(image.param()).isEqualTo("messages[0].content[0].type");

        ApiError role =
                rejected(() -> chat("{\"model\": \"m\", \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}"));
        assertThat(role.param()).isEqualTo("messages[0].role");
    }

    @Test
    void stopIsAStringOrAList() {
        assertThat(completion("{\"model\": \"m\", \"prompt\": \"p\", \"stop\": \"\\n\"}")
                        .generation()
                        .stop())
                .containsExactly("\n");
        assertThat(completion("{\"model\": \"m\", \"prompt\": \"p\", \"stop\": [\"a\", \"b\"]}")
                        .generation()
                        .stop())
                .containsExactly("a", "b");
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"stop\": [\"a\", 1]}"))
                        .param())
                .isEqualTo("stop");
    }

    @Test
    void promptIsAStringAnArrayOfOneOrTokenIds() {
        assertThat(completion("{\"model\": \"m\", \"prompt\": [\"only\"]}")
                        .generation()
                        .prompt())
                .isEqualTo("only");
        // Several prompts are split by the routes before a body gets here.
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": [\"a\", \"b\"]}"))
                        .param())
                .isEqualTo("prompt");
        OpenAiRequests.Parsed ids = completion("{\"model\": \"m\", \"prompt\": [1, 2, 3]}");
        assertThat(ids.generation().prompt()).isNull();
        assertThat(ids.generation().promptOptions().tokenIds()).containsExactly(1, 2, 3);
        assertThat(ids.generation().scoresPrompt()).isFalse();
        for (String bad :
                new String[] {"[]", "[1, -2]", "[1, 2.5]", "[1, \"a\"]", "[[1], \"a\"]", "[[]]", "{}", "[true]"}) {
            ApiError e = rejected(() -> completion("{\"model\": \"m\", \"prompt\": " + bad + "}"));
            assertThat(e.param()).as(bad).isEqualTo("prompt");
            assertThat(e.status().intValue()).as(bad).isEqualTo(400);
        }
    }

    @Test
    void echoWithLogprobsScoresThePromptAndMaxTokensMayBeZero() {
        OpenAiRequests.Parsed p =
                completion("{\"model\": \"m\", \"prompt\": \"p\", \"echo\": true, \"logprobs\": 2, \"max_tokens\": 0}");
        assertThat(p.echo()).isTrue();
        assertThat(p.generation().maxTokens()).isZero();
        assertThat(p.generation().promptOptions().logprobs()).isEqualTo(2);
        // Echo alone needs no scores: the prompt's text is the echo.
        assertThat(completion("{\"model\": \"m\", \"prompt\": \"p\", \"echo\": true}")
                        .generation()
                        .scoresPrompt())
                .isFalse();
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"max_tokens\": -1}"))
                        .param())
                .isEqualTo("max_tokens");
        // Streamed echo: the routes send the prompt as the first chunk.
        var streamedEcho = completion("{\"model\": \"m\", \"prompt\": \"p\", \"echo\": true, \"stream\": true}");
        assertThat(streamedEcho.echo()).isTrue();
        assertThat(streamedEcho.stream()).isTrue();
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"best_of\": 129}"))
                        .param())
                .isEqualTo("best_of");
    }

    @Test
    void completionLogprobsIsACount() {
        OpenAiRequests.Parsed p = completion("{\"model\": \"m\", \"prompt\": \"p\", \"logprobs\": 2}");

        assertThat(p.logprobs()).isTrue();
        assertThat(p.generation().sampling().topLogprobs()).isEqualTo(2);
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"logprobs\": 99}"))
                        .param())
                .isEqualTo("logprobs");
    }

    @Test
    void sessionIdPrecedenceIsHeaderThenMetadataThenUser() {
        String body = """
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "user": "u1", "metadata": {"session_id": "s1"}}
                """;
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        assertThat(OpenAiRequests.chat(bytes, new OpenAiRequests.Headers("h1", null))
                        .generation()
                        .sessionId())
                .isEqualTo("h1");
        assertThat(OpenAiRequests.chat(bytes, OpenAiRequests.Headers.NONE)
                        .generation()
                        .sessionId())
                .isEqualTo("s1");
        assertThat(
                        chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"user\": \"u1\"}")
                                .generation()
                                .sessionId())
                .isEqualTo("u1");
    }

    @Test
    void streamOptionsRequireStream() {
        assertThat(chat("""
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": true, "stream_options": {"include_usage": true}}
                """).includeUsage()).isTrue();
        assertThat(rejected(() -> chat("""
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}
                """)).param()).isEqualTo("stream_options");
    }

    @Test
    void integersMustBeIntegral() {
        assertThatThrownBy(
                        () -> chat(
                                "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 1.5}"))
                .isInstanceOf(ApiError.ApiException.class)
                .hasMessageContaining("max_tokens");
        assertThat(rejected(
                                () -> chat(
                                        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"seed\": \"7\"}"))
                        .param())
                .isEqualTo("seed");
    }

    @Test
    void configuredJsonLimitsAreWhatTheParserEnforces() {
        RequestJson strict = new RequestJson(new JsonLimits(3, 5));

        assertThat(strict.parse("{\"a\": [[12345]]}".getBytes(StandardCharsets.UTF_8))
                        .isObject())
                .isTrue();
        ApiError deep = rejected(() -> strict.parse("{\"a\": [[[1]]]}".getBytes(StandardCharsets.UTF_8)));
        assertThat(deep.message()).contains("3 levels").contains("kvasir.http.json.max-depth");
        ApiError longNumber = rejected(() -> strict.parse("{\"a\": 123456}".getBytes(StandardCharsets.UTF_8)));
        assertThat(longNumber.message()).contains("5 characters").contains("kvasir.http.json.max-number-length");
        assertThat(longNumber.status().intValue()).isEqualTo(400);
    }

    @Test
    void syntaxErrorsSayWhere() {
        ApiError error =
                rejected(() -> RequestJson.DEFAULT.parse("{\n  \"a\": tru }".getBytes(StandardCharsets.UTF_8)));
        assertThat(error.message()).contains("line 2");
        assertThat(rejected(() -> RequestJson.DEFAULT.parse(new byte[] {'{', (byte) 0xC0, (byte) 0xAF, '}'}))
                        .message())
                .contains("UTF-8");
    }

    @Test
    void logitBiasIsReadIntoTheSamplingParams() {
        SamplingParams s = chat("""
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": -100, "2147483647": 0.5}}
                """).generation().sampling();
        assertThat(s.logitBias()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(5, -100f, 2147483647, 0.5f));

        assertThat(rejected(() -> chat("""
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"2147483648": 1}}
                """)).param()).isEqualTo("logit_bias");
    }

    @Test
    void ignoreEosAndMinTokensAreReadAsVllmExtensions() {
        SamplingParams s = completion("{\"model\": \"m\", \"prompt\": \"p\", \"max_tokens\": 8,"
                        + " \"ignore_eos\": true, \"min_tokens\": 8}")
                .generation()
                .sampling();
        assertThat(s.ignoreEos()).isTrue();
        assertThat(s.minTokens()).isEqualTo(8);
        SamplingParams chatDefaults =
                chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")
                        .generation()
                        .sampling();
        assertThat(chatDefaults.ignoreEos()).isFalse();
        assertThat(chatDefaults.minTokens()).isZero();

        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"min_tokens\": -1}"))
                        .param())
                .isEqualTo("min_tokens");
        assertThat(rejected(() -> chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                                + " \"max_completion_tokens\": 4, \"min_tokens\": 5}"))
                        .param())
                .isEqualTo("min_tokens");
        assertThat(rejected(() -> completion("{\"model\": \"m\", \"prompt\": \"p\", \"ignore_eos\": \"yes\"}"))
                        .param())
                .isEqualTo("ignore_eos");
    }

    @Test
    void askingForLogprobsWithoutAlternativesStillAsksForTheChosenTokens() {
        SamplingParams legacy = completion("{\"model\": \"m\", \"prompt\": \"p\", \"logprobs\": 0}")
                .generation()
                .sampling();
        assertThat(legacy.topLogprobs()).isZero();
        assertThat(legacy.reportsLogprobs()).isTrue();
        SamplingParams chat = chat("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                        + " \"logprobs\": true, \"top_logprobs\": 0}")
                .generation()
                .sampling();
        assertThat(chat.reportsLogprobs()).isTrue();
        assertThat(completion("{\"model\": \"m\", \"prompt\": \"p\"}")
                        .generation()
                        .sampling()
                        .reportsLogprobs())
                .isFalse();
    }
}
