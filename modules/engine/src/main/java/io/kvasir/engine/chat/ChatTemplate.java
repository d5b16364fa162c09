package io.kvasir.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * Turns a conversation into the prompt text a model was trained on, by rendering the model's own
 * {@code tokenizer.chat_template}: a Hugging Face Jinja template, rendered here with Jinjava under
 * the rules of Hugging Face's template environment ({@code trim_blocks} and {@code lstrip_blocks}
 * on, {@code raise_exception}, {@code strftime_now}, {@code tojson}, Python string methods).
 * Variables: {@code messages} (maps with {@code role} and {@code content}, and {@code tool_calls},
 * {@code tool_call_id}, {@code name} when a turn has them), {@code tools} (when tools are offered),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}. A template that does not use
 * {@code tools} gets them as a system preamble instead (see {@link ToolPrompt}).
 *
 * <p>The rendered text holds the model's special tokens as text ({@code <|im_start|>},
 * {@code [INST]}, possibly {@code bos_token}): encode it with {@code parseSpecial = true}, and without
 * adding BOS when the text already starts with it; {@link #encode} does both.
 *
 * <p><b>Fallback.</b> A model without a template gets ChatML:
 * {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then {@code <|im_start|>assistant\n}
 * when a reply is wanted. ChatML is chosen because its role markers are explicit and cannot be
 * confused with message text, every message is delimited on both sides (so a multi-turn prompt
 * stays parseable), it carries any role name, and it is the format most instruction-tuned open
 * models either use natively (Qwen, Yi, many fine-tunes) or have seen; a base model still reads it
 * as a plausible transcript. It emits no BOS: the tokenizer adds that when the vocabulary asks.
 * When the vocabulary lacks {@code <|im_start|>} tokens the markers are encoded as plain text and
 * {@code <|im_end|>} will not stop generation by itself; EOS still does.
 *
 * <p>Instances are immutable and thread-safe; each render is independent.
 */
public final class ChatTemplate {

    private static final String FALLBACK_SOURCE = """
            {%- for message in messages %}
            {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    /** Far beyond any context window; a runaway template fails instead of exhausting memory. */
    private static final long MAX_OUTPUT_BYTES = 64L << 20;

    private final String source;
    private final String prepared;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bosToken, String eosToken, Clock clock) {
        this.source = source;
        this.prepared = PythonJinjaSyntax.apply(WhitespaceControl.apply(source));
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.clock = clock;
        this.jinjava = newEngine();
    }

    /**
     * A template from its Jinja source. The source is checked by rendering a one-message
     * conversation; a template that cannot be parsed fails here with {@link ChatTemplateException}
     * (one that rejects that conversation through {@code raise_exception} is accepted).
     */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken) {
        return of(jinjaSource, bosToken, eosToken, Clock.systemDefaultZone());
    }

    /** As {@link #of(String, String, String)}, with the clock {@code strftime_now} reads. */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken, Clock clock) {
        if (jinjaSource == null || jinjaSource.isBlank()) {
            throw new ChatTemplateException("chat template is empty");
        }
        ChatTemplate t = new ChatTemplate(jinjaSource, bosToken, eosToken, clock);
        t.check();
        return t;
    }

    /** The ChatML fallback described in the class documentation. */
    public static ChatTemplate fallback() {
        return new ChatTemplate(FALLBACK_SOURCE, "", "", Clock.systemDefaultZone());
    }

    /**
     * The model's template ({@code tokenizer.chat_template}, with its BOS and EOS token texts), or the
     * fallback when the vocabulary has none. A template that is present but broken is an error, not
     * a silent fallback: the wrong prompt format would quietly degrade every answer.
     */
    public static ChatTemplate forModel(Vocabulary vocabulary, Tokenizer tokenizer) {
        String template = vocabulary.chatTemplate();
        if (template == null || template.isBlank()) {
            return fallback();
        }
        String bos = vocabulary.bosId() >= 0 ? tokenizer.tokenText(vocabulary.bosId()) : "";
        String eos = vocabulary.eosId() >= 0 ? tokenizer.tokenText(vocabulary.eosId()) : "";
        return of(template, bos, eos);
    }

    /** The Jinja source as given. */
    public String source() {
        return source;
    }

    /**
     * Renders the conversation; with {@code addGenerationPrompt} the text ends where the
     * assistant's reply begins.
     *
     * @throws ChatTemplateException when the template fails or calls {@code raise_exception}
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, null, addGenerationPrompt);
    }

    /**
     * As {@link #render(List, boolean)}, offering the model the tools in {@code toolsJson} (a JSON
     * array of OpenAI tool objects; null or blank for none).
     */
    public String render(List<ChatMessage> messages, String toolsJson, boolean addGenerationPrompt) {
        if (messages == null) {
            throw new ChatTemplateException("a chat prompt needs a list of messages");
        }
        List<Object> tools = ToolPrompt.tools(toolsJson);
        boolean templateTools = ToolPrompt.mentions(source, "tools");
        if (!tools.isEmpty() && !templateTools) {
            messages = ToolPrompt.hermes(messages, tools, ToolPrompt.mentions(source, "tool"));
        }
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m == null || m.role() == null) {
                throw new ChatTemplateException("chat message " + i + " has no role");
            }
            list.add(ToolPrompt.messageMap(m));
        }
        TemplateFunctions.RenderState state = new TemplateFunctions.RenderState(ZonedDateTime.now(clock));
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", list);
        if (!tools.isEmpty() && templateTools) {
            bindings.put("tools", tools);
        }
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        // Python spellings of the constants, which some templates use
        bindings.put("True", true);
        bindings.put("False", false);
        bindings.put(TemplateFunctions.STATE, state);
        RenderResult result;
        try {
            result = jinjava.renderForResult(prepared, bindings);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ChatTemplateException("chat template failed: " + e.getMessage(), e);
        }
        if (state.raised != null) {
            throw new ChatTemplateException("chat template raised: " + state.raised);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template error at line " + error.getLineno() + ": "
                        + error.getMessage()
                        + (error.getFieldName() == null || error.getFieldName().isEmpty()
                                ? ""
                                : " (in '" + error.getFieldName() + "')"));
            }
        }
        return result.getOutput();
    }

    /**
     * Renders the conversation and encodes it as a prompt: special-token texts become their ids,
     * and BOS is added (when the vocabulary wants it) only if the template did not already write it,
     * so templates that start with {@code bos_token} do not get two.
     */
    public int[] encode(Tokenizer tokenizer, List<ChatMessage> messages, boolean addGenerationPrompt) {
        return encode(tokenizer, messages, null, addGenerationPrompt);
    }

    /** As {@link #encode(Tokenizer, List, boolean)}, offering the tools in {@code toolsJson}. */
    public int[] encode(
            Tokenizer tokenizer, List<ChatMessage> messages, String toolsJson, boolean addGenerationPrompt) {
        String text = render(messages, toolsJson, addGenerationPrompt);
        int bos = tokenizer.bosId();
        boolean rendersBos = bos >= 0 && text.startsWith(tokenizer.tokenText(bos));
        return tokenizer.encode(text, !rendersBos, true);
    }

    private void check() {
        try {
            render(List.of(new ChatMessage("user", "Hello")), true);
        } catch (ChatTemplateException e) {
            if (!e.getMessage().startsWith("chat template raised: ")) {
                throw e;
            }
        }
    }

    private static Jinjava newEngine() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withElResolver(resolver)
                .withTrimBlocks(false) // WhitespaceControl has applied Jinja's rules already
                .withLstripBlocks(false)
                // message text must never be evaluated as template code: "{{ ... }}" typed by a
                // user is just text (Jinjava would otherwise re-render expression results)
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(MAX_OUTPUT_BYTES)
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "raise_exception", TemplateFunctions.class, "raiseException", Object.class));
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.ToJson());
        return jinjava;
    }
}
