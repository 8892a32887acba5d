package sim

import "strings"

// stopwords are English words too common, or too much about the asking,
// to be the subject of an answer.
var stopwords = setOf(`a an the and or but nor for with without that this these those
	what how why when where which who whom whose about from into onto over under
	your you yours our ours their theirs them they it its is are was were be been
	being am can could would should will shall may might must does did do done
	have has had having please explain explained describe tell give show write
	make made some more most than then there here also just like know want need
	needs using use used between difference differences best way ways work works
	good better really very much many any each every other such only own same
	handle handles compare implement implementing build building create get set
	run running help improve understand learn choose fix debug deploy configure
	design think mean means thing things something anything everything lot lots
	please thanks thank hello hi hey okay let lets let's me my mine i i'm i've
	can't don't doesn't isn't aren't what's how's it's instead rather actually
	usually always never often still even maybe perhaps already again together quite
	versus vs etc okay sure right wrong new old first last next example examples`)

// hanStopwords are Chinese function words and question words; prompts are
// cut at them to find the phrases worth echoing. Longer entries come first
// so that they are removed before their parts.
var hanStopwords = []string{
	"为什么", "怎么样", "是什么", "有哪些", "什么", "怎么", "怎样", "如何", "哪些",
	"一下", "一个", "一些", "请问", "介绍", "解释", "说明", "讲讲", "谈谈", "比较",
	"区别", "关于", "使用", "可以", "没有", "我们", "你们", "他们", "这个", "那个",
	"应该", "需要", "帮我", "告诉", "的", "了", "是", "在", "和", "与", "及", "或",
	"吗", "呢", "吧", "啊", "么", "请", "我", "你", "他", "她", "它", "们", "这",
	"那", "个", "有", "能", "会", "要", "想", "给", "把", "被", "对", "从", "到",
	"用", "还", "也", "都", "很", "更", "最", "就", "让", "写", "中",
}

func setOf(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
